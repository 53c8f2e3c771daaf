import { EventEmitter } from "node:events";

/** An EventEmitter whose event names and payloads are checked by TypeScript. */
export class TypedEmitter<Events extends Record<string, unknown>> {
  private readonly ee = new EventEmitter();

  constructor() {
    // Many subscribers (API streams, tests) may listen at once; the default warning at 10 is noise.
    this.ee.setMaxListeners(1000);
  }

  on<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): () => void {
    this.ee.on(event, listener);
    return () => this.ee.off(event, listener);
  }

  off<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): void {
    this.ee.off(event, listener);
  }

  emit<K extends keyof Events & string>(event: K, payload: Events[K]): void {
    this.ee.emit(event, payload);
  }
}
