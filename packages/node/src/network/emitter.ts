import { errorFields, type Logger } from "./logger.js";

/** Events of a network node; each carries the remote peer id string. */
export interface NetworkEvents {
  /** The first connection to a peer opened. */
  "peer:connect": string;
  /** The last connection to a peer closed. */
  "peer:disconnect": string;
}

export type NetworkEventName = keyof NetworkEvents;
export type NetworkListener<E extends NetworkEventName> = (detail: NetworkEvents[E]) => void;

/** Subscribe/unsubscribe half of the emitter, the part a network exposes. */
export interface NetworkEventTarget {
  on<E extends NetworkEventName>(event: E, listener: NetworkListener<E>): void;
  off<E extends NetworkEventName>(event: E, listener: NetworkListener<E>): void;
}

export interface NetworkEmitter extends NetworkEventTarget {
  emit<E extends NetworkEventName>(event: E, detail: NetworkEvents[E]): void;
}

/**
 * A tiny typed emitter. A listener that throws is logged and skipped: it must not break the
 * libp2p event dispatch it is called from, nor starve the listeners after it.
 */
export function createEmitter(logger: Logger): NetworkEmitter {
  const listeners = new Map<NetworkEventName, Set<(detail: string) => void>>();
  return {
    on(event, listener) {
      let set = listeners.get(event);
      if (set === undefined) {
        set = new Set();
        listeners.set(event, set);
      }
      set.add(listener);
    },
    off(event, listener) {
      listeners.get(event)?.delete(listener);
    },
    emit(event, detail) {
      for (const listener of [...(listeners.get(event) ?? [])]) {
        try {
          listener(detail);
        } catch (err) {
          logger.error({ event, ...errorFields(err) }, "network event listener threw");
        }
      }
    },
  };
}
