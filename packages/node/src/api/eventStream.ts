import type { FastifyReply } from "fastify";
import type { Logger } from "../logger.js";
import type { NodeEvents } from "../nodeTypes.js";
import type { TypedEmitter } from "../util/typedEmitter.js";

/** The node events a stream carries, each sent as `event: <name>` with its payload as JSON `data`. */
export const STREAM_EVENTS = [
  "head",
  "block",
  "slot",
  "missedSlot",
  "equivocation",
] as const satisfies ReadonlyArray<keyof NodeEvents>;

/** Options of `createEventStreams`. */
export interface EventStreamsOptions {
  events: TypedEmitter<NodeEvents>;
  /** A comment line is sent this often so proxies and clients keep an idle stream open (default 15 s). */
  keepAliveMs?: number;
  /**
   * A client that has not read this many bytes is dropped (default 1 MiB): a stalled reader must not
   * make the node buffer events without bound.
   */
  maxBufferedBytes?: number;
  logger: Logger;
}

/** The open server-sent-event streams of one API server. */
export interface EventStreams {
  /** Takes over `reply` and streams node events to it until the client goes away or `closeAll`. */
  open(reply: FastifyReply): void;
  /** Ends every open stream (the server is stopping). */
  closeAll(): void;
  /** Open streams. */
  readonly size: number;
}

/** Creates the stream registry; every stream unsubscribes from the node when it closes, however it closes. */
export function createEventStreams(opts: EventStreamsOptions): EventStreams {
  const keepAliveMs = opts.keepAliveMs ?? 15_000;
  const maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
  const open = new Set<() => void>();

  return {
    open(reply) {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        // Tells nginx-like proxies not to buffer the stream.
        "x-accel-buffering": "no",
      });
      // Sent at once so the client sees the headers before the first event, which may be a slot away.
      res.write(": cardio events\n\n");

      let closed = false;
      /**
       * `graceful` ends the response so the connection can be reused; otherwise the socket is destroyed.
       * A client that hung up leaves a half-open socket (the HTTP server allows half-open), which
       * nothing else would close and which would hold the server's `close()` forever.
       */
      const close = (graceful: boolean): void => {
        if (closed) return;
        closed = true;
        clearInterval(keepAlive);
        for (const off of offs) off();
        open.delete(closeGracefully);
        if (graceful) res.end();
        else res.destroy();
      };
      const closeGracefully = (): void => close(true);
      const write = (chunk: string): void => {
        if (closed) return;
        if (res.writableLength > maxBuffered) {
          opts.logger.warn({ buffered: res.writableLength }, "event stream client too slow; dropped");
          close(false);
          return;
        }
        res.write(chunk);
      };
      const offs = STREAM_EVENTS.map((name) =>
        opts.events.on(name, (payload) => {
          // Runs inside the node's emit: a failure here must never reach the node.
          try {
            write(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`);
          } catch (err) {
            opts.logger.warn({ event: name, err: String(err) }, "event stream write failed");
            close(false);
          }
        }),
      );
      const keepAlive = setInterval(() => write(": keepalive\n\n"), keepAliveMs);
      keepAlive.unref();
      // `close` fires when the client disconnects (and after our own end or destroy).
      res.on("close", () => close(false));
      res.on("error", () => close(false));
      open.add(closeGracefully);
    },
    closeAll() {
      for (const close of [...open]) close();
    },
    get size() {
      return open.size;
    },
  };
}
