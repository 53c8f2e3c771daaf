/**
 * Request/response over libp2p streams.
 *
 * ## Wire format
 *
 * Protocol id: `/cardio/<chainId>/<name>/1`. One stream carries exactly one exchange:
 *
 * ```
 * requester → responder   request frame:   varint(len) ‖ payload                  (len ≤ maxDataLength)
 * responder → requester   response frame:  varint(len) ‖ status(1 byte) ‖ body    (len ≤ maxDataLength)
 * ```
 *
 * `varint` is the unsigned LEB128 length prefix of it-length-prefixed-stream; `len` counts the
 * bytes after it. Status bytes:
 *
 * | status | meaning      | body                                    |
 * | ------ | ------------ | --------------------------------------- |
 * | 0      | ok           | the handler's response bytes            |
 * | 1      | error        | utf8 message explaining the failure     |
 * | 2      | rate limited | utf8 message (informative, may be empty) |
 *
 * Both sides then close the stream. A response frame that is empty or has another status byte is
 * malformed. A responder that receives a malformed or oversized request frame aborts the stream
 * without answering; nothing else on the node is affected.
 */
import { setMaxListeners } from "node:events";
import type { Connection, IncomingStreamData, PeerId, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { lpStream } from "it-length-prefixed-stream";
import { toString as utf8Decode, fromString as utf8Encode } from "uint8arrays";
import { errorFields, type Logger, noopLogger } from "./logger.js";
import { createRateLimiter } from "./rateLimiter.js";
import { ReqRespError, ReqRespErrorCode } from "./reqRespError.js";
import { protocolId } from "./topics.js";

/** First byte of every response frame. */
export const ResponseStatus = { OK: 0, ERROR: 1, RATE_LIMITED: 2 } as const;
export type ResponseStatus = (typeof ResponseStatus)[keyof typeof ResponseStatus];

/** What a request handler learns about the request besides its payload. */
export interface RequestContext {
  /** The requesting peer. */
  peerId: string;
  /** Aborted when the responder gives up (handler timeout) or the network stops. */
  signal: AbortSignal;
}

/** Answers one request; throwing sends an error frame with the error's message. */
export type RequestHandler = (
  payload: Uint8Array,
  context: RequestContext,
) => Promise<Uint8Array> | Uint8Array;

/** Per-call options of `request`. */
export interface RequestOptions {
  /** Time allowed for dial, request and response together. Default: the layer's `timeoutMs` (10 s). */
  timeoutMs?: number;
  /** Cancels the request early; it then fails with ABORTED. */
  signal?: AbortSignal;
}

/**
 * The responder's budgets, each a token bucket per peer and protocol. A request is served only when
 * both have something left:
 *
 * - **Requests** count exchanges whatever their size: a cheap guard against floods of small
 *   requests (each still costs a stream, a frame and a handler call).
 * - **Response bytes** charge each request what it cost to answer: a `blocks_by_range` answer of 256
 *   blocks costs 256 blocks' worth of bytes, a `status` answer 81 bytes. The size is known only once
 *   the handler has answered, so it is charged then and may put the peer in debt; it is refused until
 *   the refill has paid the debt back. The overshoot is bounded by the requests a peer can have in
 *   flight (`maxInboundStreams` per connection) times the largest frame.
 *
 * The byte defaults are far above honest use: a sync asks 256 blocks per request with one request
 * ahead, and imports at most a few thousand blocks/s on a small machine — a few MB/s of answers even
 * with full transactions (≈120 bytes each, verified at ≈15 000/s per core). A whole 10 000-block
 * chain of empty blocks (≈250 bytes each, 2.5 MB) fits in the burst alone.
 */
export interface RateLimit {
  /** Requests per second. Default 50. */
  ratePerSecond?: number;
  /** Requests back to back. Default 100. */
  burst?: number;
  /** Response bytes per second. Default 16 MiB. */
  bytesPerSecond?: number;
  /** Response bytes back to back. Default 64 MiB. */
  burstBytes?: number;
}

/** The defaults of {@link RateLimit}. */
export const DEFAULT_RATE_LIMIT: Readonly<Required<RateLimit>> = {
  ratePerSecond: 50,
  burst: 100,
  bytesPerSecond: 16 * 1024 * 1024,
  burstBytes: 64 * 1024 * 1024,
};

/** Options of {@link createReqResp}. */
export interface ReqRespOptions {
  /** Chain id embedded in every protocol id. Required. */
  chainId: string;
  /** Largest request or response frame in bytes, status byte included. Default 4 MiB. */
  maxDataLength?: number;
  /** Default timeout of `request`, in ms. Default 10 000. */
  timeoutMs?: number;
  /**
   * How long the responder waits for the request frame and its handler together, in ms, before it
   * aborts the stream. Default: `timeoutMs`, since the requester has given up by then anyway.
   */
  handlerTimeoutMs?: number;
  /** The responder's per-peer, per-protocol budgets; see {@link RateLimit} for the defaults. */
  rateLimit?: RateLimit;
  /** Concurrent inbound streams per connection and protocol. Default 32 (libp2p's default). */
  maxInboundStreams?: number;
  /** Structured logger. Default: silent. */
  logger?: Logger;
}

/** The part of libp2p this layer uses, so it can be started on any node. */
export interface ReqRespHost {
  dial(peer: PeerId, options?: { signal?: AbortSignal }): Promise<Connection>;
  handle(
    protocol: string,
    handler: (data: IncomingStreamData) => void | Promise<void>,
    options?: { maxInboundStreams?: number },
  ): Promise<void>;
  unhandle(protocol: string): Promise<void>;
}

/** The request/response layer of one node. */
export interface ReqResp {
  /**
   * Serves protocol `name` with `handler`. Works before and after start; registering a name twice
   * throws.
   */
  handle(name: string, handler: RequestHandler): void;
  /** Stops serving protocol `name`. */
  unhandle(name: string): void;
  /** Sends one request to `peerId` and resolves with the response body; rejects with {@link ReqRespError}. */
  request(peerId: string, name: string, payload: Uint8Array, options?: RequestOptions): Promise<Uint8Array>;
  /** Registers the handlers on `host`; requests are possible from here on. */
  start(host: ReqRespHost): Promise<void>;
  /** Unregisters the handlers and aborts every request and handler in flight. */
  stop(): Promise<void>;
}

const MAX_ERROR_MESSAGE_BYTES = 1024;

/** Creates the request/response layer; see the module comment for the wire format. */
export function createReqResp(options: ReqRespOptions): ReqResp {
  const { chainId } = options;
  const maxDataLength = options.maxDataLength ?? 4 * 1024 * 1024;
  const defaultTimeoutMs = options.timeoutMs ?? 10_000;
  const handlerTimeoutMs = options.handlerTimeoutMs ?? defaultTimeoutMs;
  const maxInboundStreams = options.maxInboundStreams ?? 32;
  const logger = options.logger ?? noopLogger;
  const rateLimit = { ...DEFAULT_RATE_LIMIT, ...definedOnly(options.rateLimit) };
  const requestLimiter = createRateLimiter({
    ratePerSecond: rateLimit.ratePerSecond,
    burst: rateLimit.burst,
  });
  const byteLimiter = createRateLimiter({
    ratePerSecond: rateLimit.bytesPerSecond,
    burst: rateLimit.burstBytes,
  });
  const handlers = new Map<string, RequestHandler>();
  let host: ReqRespHost | undefined;
  // Replaced on every start, aborted on stop: everything in flight hangs off it.
  let lifetime = newLifetime();
  lifetime.abort();

  function register(name: string): void {
    const current = host;
    if (current === undefined) return;
    const protocol = protocolId(chainId, name);
    current
      .handle(protocol, (data) => serve(name, protocol, data), { maxInboundStreams })
      .catch((err: unknown) =>
        logger.error({ protocol, ...errorFields(err) }, "cannot register protocol handler"),
      );
  }

  async function serve(
    name: string,
    protocol: string,
    { stream, connection }: IncomingStreamData,
  ): Promise<void> {
    const peerId = connection.remotePeer.toString();
    const signal = linkedSignal(handlerTimeoutMs, lifetime.signal);
    try {
      const lp = lpStream(stream, { maxDataLength });
      // Checked before reading, so a flooding peer costs us no parsing or handler work.
      const key = `${peerId} ${protocol}`;
      if (!requestLimiter.take(key) || byteLimiter.tokens(key) <= 0) {
        logger.debug({ peer: peerId, protocol }, "request rate limited");
        await lp.write(responseFrame(ResponseStatus.RATE_LIMITED, "rate limited"), { signal: signal.signal });
        await stream.close({ signal: signal.signal });
        return;
      }
      const request = (await lp.read({ signal: signal.signal })).subarray();
      const handler = handlers.get(name);
      let frame: Uint8Array;
      if (handler === undefined) {
        frame = responseFrame(ResponseStatus.ERROR, `no handler for ${name}`);
      } else {
        try {
          const body = await raceAbort(
            Promise.resolve(handler(request, { peerId, signal: signal.signal })),
            signal.signal,
          );
          if (!(body instanceof Uint8Array)) throw new TypeError("request handler must return a Uint8Array");
          if (body.byteLength + 1 > maxDataLength) {
            logger.warn(
              { peer: peerId, protocol, bytes: body.byteLength },
              "handler response over maxDataLength",
            );
            frame = responseFrame(ResponseStatus.ERROR, "response too large");
          } else {
            frame = withStatus(ResponseStatus.OK, body);
          }
        } catch (err) {
          if (signal.signal.aborted) throw err;
          logger.warn({ peer: peerId, protocol, ...errorFields(err) }, "request handler failed");
          frame = responseFrame(ResponseStatus.ERROR, err instanceof Error ? err.message : String(err));
        }
      }
      // Charged before sending: the answer's cost is ours whether or not the peer reads it.
      byteLimiter.charge(key, frame.byteLength);
      await lp.write(frame, { signal: signal.signal });
      await stream.close({ signal: signal.signal });
    } catch (err) {
      // Malformed or oversized frames, resets, timeouts: drop this stream, nothing else.
      logger.debug({ peer: peerId, protocol, ...errorFields(err) }, "inbound request stream aborted");
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    } finally {
      signal.dispose();
    }
  }

  async function request(
    peerIdStr: string,
    name: string,
    payload: Uint8Array,
    requestOptions: RequestOptions = {},
  ): Promise<Uint8Array> {
    const protocol = protocolId(chainId, name);
    const timeoutMs = requestOptions.timeoutMs ?? defaultTimeoutMs;
    const meta = { peerId: peerIdStr, protocol };
    const current = host;
    if (current === undefined) {
      throw new ReqRespError(ReqRespErrorCode.NOT_STARTED, "network not started", meta);
    }
    if (payload.byteLength > maxDataLength) {
      throw new ReqRespError(
        ReqRespErrorCode.REQUEST_TOO_LARGE,
        `request of ${payload.byteLength} bytes`,
        meta,
      );
    }
    let peer: PeerId;
    try {
      peer = peerIdFromString(peerIdStr);
    } catch (cause) {
      throw new ReqRespError(ReqRespErrorCode.DIAL_FAILED, "invalid peer id", { ...meta, cause });
    }
    const signal = linkedSignal(timeoutMs, lifetime.signal, requestOptions.signal);
    const failure = (code: ReqRespErrorCode, message: string, cause: unknown): ReqRespError => {
      if (signal.timedOut()) {
        return new ReqRespError(ReqRespErrorCode.TIMEOUT, `no response within ${timeoutMs} ms`, {
          ...meta,
          timeoutMs,
          cause,
        });
      }
      if (signal.signal.aborted)
        return new ReqRespError(ReqRespErrorCode.ABORTED, "request aborted", { ...meta, cause });
      return new ReqRespError(code, message, { ...meta, cause });
    };
    let stream: Stream | undefined;
    let frame: Uint8Array;
    try {
      let connection: Connection;
      try {
        connection = await current.dial(peer, { signal: signal.signal });
      } catch (err) {
        throw failure(ReqRespErrorCode.DIAL_FAILED, "cannot connect", err);
      }
      try {
        stream = await connection.newStream(protocol, { signal: signal.signal });
      } catch (err) {
        const unsupported = err instanceof Error && err.name === "UnsupportedProtocolError";
        throw unsupported
          ? failure(ReqRespErrorCode.UNSUPPORTED_PROTOCOL, "protocol not supported by peer", err)
          : failure(ReqRespErrorCode.STREAM_ERROR, "cannot open stream", err);
      }
      const lp = lpStream(stream, { maxDataLength });
      try {
        await lp.write(payload, { signal: signal.signal });
        frame = (await lp.read({ signal: signal.signal })).subarray();
      } catch (err) {
        throw isFramingError(err)
          ? failure(ReqRespErrorCode.MALFORMED, "response frame over maxDataLength or undecodable", err)
          : failure(ReqRespErrorCode.STREAM_ERROR, "stream failed before the response", err);
      }
    } catch (err) {
      stream?.abort(err instanceof Error ? err : new Error(String(err)));
      logger.debug({ peer: peerIdStr, protocol, ...errorFields(err) }, "request failed");
      throw err;
    } finally {
      signal.dispose();
    }
    const done = stream;
    done.close().catch((err: unknown) => done.abort(err instanceof Error ? err : new Error(String(err))));
    return decodeResponse(frame, meta);
  }

  return {
    handle(name, handler) {
      protocolId(chainId, name); // validates the name now rather than at start
      if (handlers.has(name)) throw new Error(`a handler for ${name} is already registered`);
      handlers.set(name, handler);
      register(name);
    },
    unhandle(name) {
      if (!handlers.delete(name)) return;
      const protocol = protocolId(chainId, name);
      host
        ?.unhandle(protocol)
        .catch((err: unknown) =>
          logger.warn({ protocol, ...errorFields(err) }, "cannot unregister protocol"),
        );
    },
    request,
    async start(newHost) {
      lifetime = newLifetime();
      host = newHost;
      for (const name of handlers.keys()) register(name);
    },
    async stop() {
      const current = host;
      host = undefined;
      lifetime.abort(new Error("network stopped"));
      if (current === undefined) return;
      await Promise.all(
        [...handlers.keys()].map((name) => current.unhandle(protocolId(chainId, name)).catch(() => {})),
      );
    },
  };
}

/**
 * The controller every exchange in flight hangs off. Each one adds an abort listener to its signal
 * (removed when the exchange ends), so dozens at once are normal — up to `maxInboundStreams` per
 * connection and protocol, plus our own requests: without a limit, Node warns about a possible leak
 * (`MaxListenersExceededWarning`) past 10.
 */
function newLifetime(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/** `options` without its undefined fields, so spreading it over defaults keeps them. */
function definedOnly<T extends object>(options: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(options ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function withStatus(status: ResponseStatus, body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(body.byteLength + 1);
  frame[0] = status;
  frame.set(body, 1);
  return frame;
}

function responseFrame(status: ResponseStatus, message: string): Uint8Array {
  return withStatus(status, utf8Encode(message).subarray(0, MAX_ERROR_MESSAGE_BYTES));
}

function decodeResponse(frame: Uint8Array, meta: { peerId: string; protocol: string }): Uint8Array {
  const status = frame[0];
  const body = frame.subarray(1);
  switch (status) {
    case ResponseStatus.OK:
      return body;
    case ResponseStatus.ERROR: {
      const remoteMessage = utf8Decode(body);
      throw new ReqRespError(ReqRespErrorCode.REMOTE_ERROR, `remote error: ${remoteMessage}`, {
        ...meta,
        remoteMessage,
      });
    }
    case ResponseStatus.RATE_LIMITED:
      throw new ReqRespError(ReqRespErrorCode.RATE_LIMITED, "rate limited by peer", {
        ...meta,
        remoteMessage: utf8Decode(body),
      });
    default:
      throw new ReqRespError(
        ReqRespErrorCode.MALFORMED,
        status === undefined ? "empty response frame" : `unknown status byte ${status}`,
        meta,
      );
  }
}

function isFramingError(err: unknown): boolean {
  const name = err instanceof Error ? err.name : "";
  return (
    name === "InvalidDataLengthError" ||
    name === "InvalidDataLengthLengthError" ||
    name === "InvalidMessageLengthError"
  );
}

interface LinkedSignal {
  signal: AbortSignal;
  timedOut(): boolean;
  /** Clears the timer and detaches from the parents; call once the operation is over. */
  dispose(): void;
}

/**
 * An AbortSignal that fires after `timeoutMs` or when any parent fires. Listeners are removed on
 * dispose, so long-lived parents (the network's lifetime) do not accumulate them.
 */
function linkedSignal(timeoutMs: number, ...parents: Array<AbortSignal | undefined>): LinkedSignal {
  const controller = new AbortController();
  // One exchange's signal goes to libp2p's dial, stream opening and every read and write, each of which
  // may listen to it for a while: more than 10 listeners is expected, not a leak (the signal dies with
  // the exchange).
  setMaxListeners(0, controller.signal);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timed out after ${timeoutMs} ms`));
  }, timeoutMs);
  const onParentAbort = (event: Event): void => {
    controller.abort((event.target as AbortSignal).reason);
  };
  for (const parent of parents) {
    if (parent === undefined) continue;
    if (parent.aborted) controller.abort(parent.reason);
    else parent.addEventListener("abort", onParentAbort, { once: true });
  }
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose() {
      clearTimeout(timer);
      for (const parent of parents) parent?.removeEventListener("abort", onParentAbort);
    },
  };
}

/** Settles like `promise`, or rejects as soon as `signal` aborts (the promise itself runs on). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
