/** Why a request failed. */
export const ReqRespErrorCode = {
  /** No response within the request's timeout; the stream was aborted. */
  TIMEOUT: "TIMEOUT",
  /** The responder's token bucket for us and this protocol was empty (status byte 2). */
  RATE_LIMITED: "RATE_LIMITED",
  /** The responder's handler failed; `remoteMessage` holds its utf8 explanation (status byte 1). */
  REMOTE_ERROR: "REMOTE_ERROR",
  /** The response frame broke the framing: empty, unknown status byte, or over `maxDataLength`. */
  MALFORMED: "MALFORMED",
  /** No connection to the peer could be made. */
  DIAL_FAILED: "DIAL_FAILED",
  /** The peer is reachable but does not speak this protocol (or this chain). */
  UNSUPPORTED_PROTOCOL: "UNSUPPORTED_PROTOCOL",
  /** The stream broke before a complete response arrived (reset, closed early). */
  STREAM_ERROR: "STREAM_ERROR",
  /** The caller's AbortSignal fired, or the network stopped. */
  ABORTED: "ABORTED",
  /** The request payload is larger than `maxDataLength`; nothing was sent. */
  REQUEST_TOO_LARGE: "REQUEST_TOO_LARGE",
  /** The network is not started. */
  NOT_STARTED: "NOT_STARTED",
} as const;

export type ReqRespErrorCode = (typeof ReqRespErrorCode)[keyof typeof ReqRespErrorCode];

/** What a {@link ReqRespError} knows about the failed request. */
export interface ReqRespErrorMeta {
  /** The peer asked. */
  peerId: string;
  /** Full protocol id, e.g. `/cardio/devnet/status/1`. */
  protocol: string;
  /** The timeout in force, for TIMEOUT. */
  timeoutMs?: number;
  /** The responder's message, for REMOTE_ERROR and RATE_LIMITED. */
  remoteMessage?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** The single error type `request()` rejects with; switch on `code`. */
export class ReqRespError extends Error {
  override readonly name = "ReqRespError";
  readonly code: ReqRespErrorCode;
  readonly peerId: string;
  readonly protocol: string;
  readonly timeoutMs: number | undefined;
  readonly remoteMessage: string | undefined;

  constructor(code: ReqRespErrorCode, message: string, meta: ReqRespErrorMeta) {
    super(`${message} (${code}, peer ${meta.peerId}, ${meta.protocol})`, { cause: meta.cause });
    this.code = code;
    this.peerId = meta.peerId;
    this.protocol = meta.protocol;
    this.timeoutMs = meta.timeoutMs;
    this.remoteMessage = meta.remoteMessage;
  }
}
