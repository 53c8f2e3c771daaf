import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeTx, fromHex, isValidTxSignature, type SignedTx, toHex, txId } from "@cardio/core";

/*
 * A stand-in for a node's HTTP API, the only fake in the CLI tests: a real HTTP server on
 * 127.0.0.1 that records every request, decodes and verifies every submitted transaction with
 * core, and answers in the shapes of packages/node/src/api.
 */

/** One request as received. */
export interface RecordedRequest {
  method: string;
  path: string;
  body: string;
}

/** A canned answer. */
export interface Reply {
  status: number;
  body: unknown;
}

/** Options of `startFakeNode`. */
export interface FakeNodeOptions {
  chainId?: string;
  /** Account nonces by address (default 0). */
  nonces?: Record<string, number>;
  /** Blocks served by `GET /blocks`, index = height. */
  blocks?: unknown[];
}

/** A running fake node. */
export interface FakeNode {
  readonly url: string;
  readonly chainId: string;
  readonly requests: RecordedRequest[];
  /** Transactions `POST /txs` accepted (decoded and signature-checked). */
  readonly txs: SignedTx[];
  /** Answers for the next `POST /txs` requests, used in order before the default 202. */
  readonly postReplies: Reply[];
  /** `GET /txs/:id` answers in order; when empty, `{status: "included", height: 7}`. */
  readonly txStatusReplies: Reply[];
  nonces: Record<string, number>;
  /** Sends one server-sent event to every open `GET /events` stream. */
  emit(event: string, data: unknown): void;
  /** Open event streams. */
  streams(): number;
  close(): Promise<void>;
}

function reply(status: number, body: unknown): Reply {
  return { status, body };
}

/** Starts a fake node on a free port of 127.0.0.1. */
export async function startFakeNode(opts: FakeNodeOptions = {}): Promise<FakeNode> {
  const chainId = opts.chainId ?? "cardio-test";
  const blocks = opts.blocks ?? [];
  const clients = new Set<ServerResponse>();
  const requests: RecordedRequest[] = [];
  const txs: SignedTx[] = [];
  const postReplies: Reply[] = [];
  const txStatusReplies: Reply[] = [];
  const state = { nonces: { ...opts.nonces } as Record<string, number> };

  /** The answer to a request, or undefined when the request became an event stream. */
  function handle(req: IncomingMessage, res: ServerResponse, body: string): Reply | undefined {
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname;
    requests.push({ method: req.method ?? "?", path: `${path}${url.search}`, body });
    if (req.method === "GET" && path === "/status") {
      return reply(200, {
        chainId,
        peerId: "12D3KooWNodeNodeNodeNode",
        genesisHash: "ab".repeat(32),
        head: { height: blocks.length === 0 ? 0 : blocks.length - 1, slot: 41, hash: "cd".repeat(32) },
        currentSlot: 42,
        syncState: "synced",
        peers: 3,
        mempoolSize: 0,
        validator: true,
      });
    }
    const account = /^\/accounts\/([^/]+)$/.exec(path);
    if (req.method === "GET" && account !== null) {
      const address = decodeURIComponent(account[1]!);
      return reply(200, {
        address,
        balance: "1000",
        stake: "100",
        unbonding: [],
        nonce: state.nonces[address] ?? 0,
        validator: true,
      });
    }
    if (req.method === "POST" && path === "/txs") {
      let tx: SignedTx;
      try {
        tx = decodeTx(fromHex((JSON.parse(body) as { tx: string }).tx));
      } catch (err) {
        return reply(400, { code: "CODEC_INVALID", message: String(err) });
      }
      if (!isValidTxSignature(tx, chainId)) {
        return reply(400, { code: "TX_BAD_SIGNATURE", message: "bad signature" });
      }
      const canned = postReplies.shift();
      if (canned !== undefined) return canned;
      txs.push(tx);
      return reply(202, { id: toHex(txId(tx)) });
    }
    if (req.method === "GET" && /^\/txs\/[0-9a-f]{64}$/.test(path)) {
      const canned = txStatusReplies.shift() ?? { status: 200, body: { status: "included", height: 7 } };
      return reply(canned.status, canned.body);
    }
    if (req.method === "GET" && path === "/blocks") {
      const from = Number(url.searchParams.get("from") ?? 0);
      const limit = Number(url.searchParams.get("limit") ?? 20);
      if (limit > 100) return reply(400, { code: "API_INVALID_REQUEST", message: "limit must be <= 100" });
      return reply(200, { headHeight: blocks.length - 1, blocks: blocks.slice(from, from + limit) });
    }
    if (req.method === "GET" && path === "/events") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.write(": cardio events\n\n");
      clients.add(res);
      res.on("close", () => clients.delete(res));
      return undefined;
    }
    return reply(404, { code: "API_NOT_FOUND", message: `no route ${req.method} ${path}` });
  }

  const server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => {
      body += d;
    });
    req.on("end", () => {
      const answer = handle(req, res, body);
      if (answer === undefined) return;
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    chainId,
    requests,
    txs,
    postReplies,
    txStatusReplies,
    get nonces() {
      return state.nonces;
    },
    set nonces(n) {
      state.nonces = n;
    },
    emit(event, data) {
      for (const c of clients) c.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    streams: () => clients.size,
    close: async () => {
      for (const c of clients) c.end();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A free TCP port on 127.0.0.1 with nothing listening (for the unreachable-node tests). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
