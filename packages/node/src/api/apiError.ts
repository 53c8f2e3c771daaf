import { type CardioError, CodecError, CryptoError, TxError, TxErrorCode } from "@cardio/core";
import { MempoolError, MempoolErrorCode } from "../mempool/mempool.js";

/** Codes of errors the API itself raises (core and mempool errors keep their own codes). */
export const ApiErrorCode = {
  NOT_FOUND: "API_NOT_FOUND",
  INVALID_REQUEST: "API_INVALID_REQUEST",
  INVALID_JSON: "API_INVALID_JSON",
  BODY_TOO_LARGE: "API_BODY_TOO_LARGE",
  UNSUPPORTED_MEDIA_TYPE: "API_UNSUPPORTED_MEDIA_TYPE",
  UNAVAILABLE: "API_UNAVAILABLE",
  REQUEST_TIMEOUT: "API_REQUEST_TIMEOUT",
  INTERNAL: "API_INTERNAL",
} as const;
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

/** An error the API answers with `statusCode` and the JSON body `{ code, message }`. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The body of every error response. */
export interface ErrorBody {
  code: string;
  message: string;
}

/**
 * The HTTP status and body for an error a handler let through, or undefined when it is not one the
 * client caused (those become a 500 that shows nothing of the error).
 */
export function clientErrorOf(err: unknown): { statusCode: number; body: ErrorBody } | undefined {
  if (err instanceof ApiError) return { statusCode: err.statusCode, body: bodyOf(err) };
  if (err instanceof MempoolError) {
    const statusCode =
      err.code === MempoolErrorCode.DUPLICATE || err.code === MempoolErrorCode.REPLACEMENT_UNDERPRICED
        ? 409
        : err.code === MempoolErrorCode.FULL
          ? 503 // the node's capacity, not the request, is the problem: retry later
          : 400;
    return { statusCode, body: bodyOf(err) };
  }
  if (err instanceof TxError) {
    return { statusCode: err.code === TxErrorCode.NONCE_TOO_LOW ? 409 : 400, body: bodyOf(err) };
  }
  // Decoding and address errors describe the input only; other core errors reaching a handler are bugs.
  if (err instanceof CodecError || err instanceof CryptoError) return { statusCode: 400, body: bodyOf(err) };
  return undefined;
}

function bodyOf(err: ApiError | MempoolError | CardioError<string>): ErrorBody {
  return { code: err.code, message: err.message };
}
