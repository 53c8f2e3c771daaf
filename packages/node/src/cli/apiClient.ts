import { toHex } from "@cardio/core";
import {
  type AccountView,
  type BlockView,
  readAccount,
  readBlocks,
  readStatus,
  readTxStatus,
  type StatusView,
  type TxStatusView,
} from "./apiViews.js";
import { CliError, oneLine } from "./cliError.js";
import { readSse, type SseEvent } from "./sse.js";

/** Default address of a node's API, as `cardio start` serves it. */
export const DEFAULT_NODE_URL = "http://127.0.0.1:8645";
/** Largest page `GET /blocks` serves; longer ranges take several requests. */
export const BLOCKS_PAGE_MAX = 100;
/** How long one request may take before the CLI gives up. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** A request the node answered with an error status (4xx/5xx), with its `{code, message}`. */
export class ApiError extends CliError {
  readonly status: number;

  constructor(status: number, code: string, message: string) {
    super(code, message);
    this.status = status;
  }
}

/** Options of `ApiClient`. */
export interface ApiClientOptions {
  /** Per-request timeout in ms (default `DEFAULT_TIMEOUT_MS`); for `events`, until the headers arrive. */
  timeoutMs?: number;
}

/**
 * A client of one node's HTTP API over the global `fetch`. Every failure becomes a one-line
 * `CliError`: unreachable node, timeout, error status (`ApiError` with the node's own code), or
 * a body that is not the JSON expected.
 */
export class ApiClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(baseUrl: string, opts: ApiClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** `GET /status`. */
  async status(): Promise<StatusView> {
    return readStatus(await this.getJson("/status"));
  }

  /** `GET /status` as the node sent it, for `--json`. */
  async statusJson(): Promise<unknown> {
    return this.getJson("/status");
  }

  /** `GET /accounts/:address`; undefined when the node knows no such account (404). */
  async account(address: string): Promise<AccountView | undefined> {
    try {
      return readAccount(await this.getJson(`/accounts/${encodeURIComponent(address)}`));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** `POST /txs` with the canonical bytes of a signed transaction; returns its id (hex). */
  async submitTx(bytes: Uint8Array): Promise<string> {
    const json = await this.request("POST", "/txs", { tx: toHex(bytes) });
    const id = typeof json === "object" && json !== null ? (json as { id?: unknown }).id : undefined;
    if (typeof id !== "string")
      throw new CliError("BAD_RESPONSE", "unexpected answer to POST /txs: no transaction id");
    return id;
  }

  /** `GET /txs/:id`. */
  async txStatus(id: string): Promise<TxStatusView> {
    try {
      return readTxStatus(await this.getJson(`/txs/${encodeURIComponent(id)}`));
    } catch (err) {
      // The node answers 404 for a transaction it neither holds nor has included.
      if (err instanceof ApiError && err.status === 404) return { status: "unknown" };
      throw err;
    }
  }

  /**
   * `GET /blocks?from=&limit=`: the blocks read for display, and the JSON as sent for `--json`.
   * `limit` must be within the node's page size (`BLOCKS_PAGE_MAX`).
   */
  async blocks(from: number, limit: number): Promise<{ blocks: BlockView[]; json: unknown }> {
    const json = await this.getJson(`/blocks?from=${from}&limit=${limit}`);
    return { blocks: readBlocks(json), json };
  }

  /** `GET` of a JSON resource. */
  getJson(path: string): Promise<unknown> {
    return this.request("GET", path);
  }

  /**
   * `GET /events`: server-sent events until `signal` aborts or the node closes the stream. The
   * timeout covers connecting only; the stream itself may stay quiet for as long as it likes.
   */
  async *events(signal: AbortSignal): AsyncGenerator<SseEvent> {
    const connect = new AbortController();
    const timer = setTimeout(
      () => connect.abort(new DOMException("timeout", "TimeoutError")),
      this.timeoutMs,
    );
    const both = AbortSignal.any([signal, connect.signal]);
    let res: Response;
    try {
      res = await fetch(this.url("/events"), { headers: { accept: "text/event-stream" }, signal: both });
    } catch (err) {
      if (signal.aborted) return;
      throw this.networkError(err, "/events");
    } finally {
      clearTimeout(timer);
    }
    if (!res.ok || res.body === null) {
      throw await this.errorOf(res, "/events");
    }
    try {
      yield* readSse(res.body as unknown as AsyncIterable<Uint8Array>);
    } catch (err) {
      if (signal.aborted) return;
      throw new CliError("NODE_UNREACHABLE", `lost the event stream of ${this.baseUrl}`, { cause: err });
    }
  }

  /** Sends one request and returns its JSON body, or throws a one-line `CliError`. */
  async request(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.url(path), {
        method,
        headers:
          body === undefined
            ? { accept: "application/json" }
            : { accept: "application/json", "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw this.networkError(err, path);
    }
    if (!res.ok) throw await this.errorOf(res, path, text);
    try {
      return text === "" ? null : JSON.parse(text);
    } catch {
      throw new CliError(
        "BAD_RESPONSE",
        `${method} ${path}: the node answered with something that is not JSON`,
      );
    }
  }

  private url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  private networkError(err: unknown, path: string): CliError {
    if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) {
      return new CliError(
        "NODE_TIMEOUT",
        `node at ${this.baseUrl} did not answer ${path} within ${this.timeoutMs / 1000} s`,
        { cause: err },
      );
    }
    return new CliError(
      "NODE_UNREACHABLE",
      `cannot reach node at ${this.baseUrl}: is \`cardio start\` running?`,
      {
        cause: err,
      },
    );
  }

  /** The `ApiError` of an error response: the node's `{code, message}`, or its status line. */
  private async errorOf(res: Response, path: string, text?: string): Promise<ApiError> {
    const body = text ?? (await res.text().catch(() => ""));
    let code = `HTTP_${res.status}`;
    let message = `${path}: ${res.status} ${res.statusText}`.trim();
    try {
      const json = JSON.parse(body) as { code?: unknown; message?: unknown };
      if (typeof json.code === "string" && json.code !== "") code = json.code;
      if (typeof json.message === "string" && json.message !== "") message = json.message;
    } catch {
      // Not JSON (a proxy's HTML page, say): keep the status line.
    }
    // Bounded, so a node cannot flood the terminal through an error message.
    const line = oneLine(message);
    return new ApiError(res.status, code, line.length > 300 ? `${line.slice(0, 300)}…` : line);
  }
}
