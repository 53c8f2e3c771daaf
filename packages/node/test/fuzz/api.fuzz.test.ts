/**
 * Hostile input into the HTTP API of a real node (`createApiServer` over `createNode`), over raw TCP so
 * nothing on the client side tidies the request up:
 *
 * - `POST /txs`: structurally mutated JSON transactions, `{ "tx": hex }` with fuzzed encodings, random
 *   JSON values, random bytes under random content types;
 * - GET routes: fuzzed path segments (hex, addresses, numbers, %-escapes, control characters) and
 *   query strings; any method on random paths; a few malformed HTTP requests.
 *
 * Every answer must be a 2xx with a valid body or a 4xx whose body is the API's `{ code, message }`
 * JSON, never a 5xx; nothing refused may change the mempool or the chain (every input here is refused:
 * the transactions are all invalid on this chain). `FUZZ_NET_RUNS` requests per group (default 600).
 */
import net from "node:net";
import { encodeTx, type SignedTx, signTx, toHex } from "@cardio/core";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpus } from "../../../core/test/fuzz/corpus.js";
import { hostileBytes, netRuns, samples, Tally } from "../../../core/test/fuzz/fuzz.js";
import { type ApiServer, createApiServer } from "../../src/api/apiServer.js";
import { txToJson } from "../../src/api/json.js";
import {
  chainSince,
  type Hazards,
  sleep,
  slotNow,
  startVictim,
  strangerKey,
  UNEXPECTED_FAILURE_LOGS,
  type Victim,
  watchProcessHazards,
} from "./harness.js";

const N = netRuns();
const TIMEOUT = Math.max(120_000, N * 60);
const report: string[] = [];

let hazards: Hazards;
let victim: Victim;
let server: ApiServer;
let port = 0;
let startHeight = 0;
let startSlot = 0;

beforeAll(async () => {
  hazards = watchProcessHazards();
  victim = await startVictim({ seed: "api-fuzz", funded: 2 });
  server = createApiServer({ node: victim.node, logger: victim.log });
  port = (await server.start()).port;
  while (victim.node.head().height < 3) await sleep(50);
  startHeight = victim.node.head().height;
  startSlot = slotNow(victim.genesis);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await victim?.stop();
  hazards?.stop();
  console.log(`API fuzz (FUZZ_NET_RUNS=${N}):\n  ${report.join("\n  ")}`);
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** One HTTP/1.1 request over a fresh socket, exactly as given; the response parsed by hand. */
function httpRaw(head: string, body: Uint8Array = new Uint8Array(0)): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within 15 s to ${JSON.stringify(head.slice(0, 120))}`));
    }, 15_000);
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", () => {}); // the server may reset after answering; what it sent is in `chunks`
    socket.on("close", () => {
      clearTimeout(timer);
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (err) {
        reject(new Error(`${(err as Error).message} for ${JSON.stringify(head.slice(0, 120))}`));
      }
    });
    socket.write(Buffer.concat([Buffer.from(head, "latin1"), body]));
  });
}

function parseResponse(raw: Buffer): RawResponse {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) throw new Error(`no HTTP response (${raw.length} bytes)`);
  const lines = raw.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(lines[0]!.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (headers["transfer-encoding"] === "chunked") {
    const parts: Buffer[] = [];
    let o = 0;
    for (;;) {
      const nl = body.indexOf("\r\n", o);
      const size = Number.parseInt(body.subarray(o, nl).toString(), 16);
      if (!(size > 0)) break;
      parts.push(body.subarray(nl + 2, nl + 2 + size));
      o = nl + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  }
  return { status, headers, body };
}

function request(method: string, path: string, body?: Uint8Array, contentType = "application/json") {
  const extra =
    body === undefined ? "" : `Content-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n`;
  return httpRaw(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}\r\n`, body);
}

/** The contract: 2xx with a body, or 4xx `{ code, message }`; never 5xx. Returns a tally label. */
function checkAnswer(r: RawResponse, what: string): string {
  expect(r.status, `${what} → ${r.status} ${r.body.toString().slice(0, 200)}`).toBeLessThan(500);
  expect(r.status).toBeGreaterThanOrEqual(200);
  if ((r.headers["content-type"] ?? "").startsWith("application/json")) {
    const body = JSON.parse(r.body.toString("utf8")) as Record<string, unknown>;
    if (r.status >= 400) {
      expect(typeof body.code, `${what}: ${r.body}`).toBe("string");
      expect(typeof body.message, `${what}: ${r.body}`).toBe("string");
      return `${r.status} ${String(body.code)}`;
    }
  } else {
    // Only the metrics text (and nothing that errs) is not JSON.
    expect(r.status, `${what}: non-JSON ${r.headers["content-type"]}`).toBeLessThan(300);
  }
  return String(r.status);
}

/** A path safe to put on the request line: what our HTTP client would send for `text`. */
const encodeSegment = (text: string) => encodeURIComponent(text);

describe("fuzz: the HTTP API of a real node", () => {
  it(
    "POST /txs: every fuzzed body is refused with 4xx { code, message }; mempool and chain untouched",
    async () => {
      const { genesis, keys, node } = victim;
      const chainId = genesis.chainId;
      const stranger = strangerKey("api");
      const funded = keys[1]!;
      const txs: SignedTx[] = [
        signTx(
          { kind: "transfer", from: stranger.publicKey, nonce: 0, fee: 1n, to: funded.publicKey, amount: 5n },
          stranger,
          chainId,
        ),
        signTx({ kind: "bpm", from: funded.publicKey, nonce: 9999, fee: 1n, bpm: 60 }, funded, chainId),
        signTx({ kind: "unstake", from: funded.publicKey, nonce: 0, fee: 1n, amount: 1n }, funded, chainId),
        ...corpus().txs, // another chain's: bad signatures here
      ];
      const jsons = txs.map((t) => txToJson(t) as unknown as Record<string, unknown>);
      const weird = fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.constantFrom(
          "",
          "0",
          "-1",
          "1e3",
          "18446744073709551616",
          "ff",
          "zz",
          "12D3KooW",
          null,
          true,
          [],
          {},
          1.5,
          -0,
          2 ** 64,
        ),
        fc.string({ maxLength: 300 }),
      );
      const keysOf = [
        "id",
        "kind",
        "from",
        "nonce",
        "fee",
        "to",
        "amount",
        "bpm",
        "headerA",
        "headerB",
        "signature",
        "tx",
        "extra",
      ];
      const mutatedJson = fc
        .tuple(
          fc.nat({ max: jsons.length - 1 }),
          fc.array(
            fc.oneof(
              fc.record({ del: fc.constantFrom(...keysOf) }),
              fc.record({ set: fc.constantFrom(...keysOf), value: weird }),
            ),
            { minLength: 0, maxLength: 3 },
          ),
        )
        .map(([i, edits]) => {
          const doc: Record<string, unknown> = structuredClone(jsons[i]!);
          for (const e of edits) {
            if ("del" in e) delete doc[e.del];
            else doc[e.set] = e.value;
          }
          return { origin: "json-mutated", body: Buffer.from(JSON.stringify(doc)), type: "application/json" };
        });
      const hexTx = hostileBytes(txs.map(encodeTx), 1100).map(({ origin, bytes }) => ({
        origin: `hex-${origin}`,
        body: Buffer.from(JSON.stringify({ tx: toHex(bytes) })),
        type: "application/json",
      }));
      const randomJson = fc.jsonValue({ maxDepth: 3 }).map((v) => ({
        origin: "json-random",
        body: Buffer.from(JSON.stringify(v) ?? "null"),
        type: "application/json",
      }));
      const randomBytes = fc
        .tuple(
          fc.uint8Array({ maxLength: 300 }),
          fc.constantFrom(
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=latin1",
            "text/plain",
            "application/octet-stream",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded",
            "",
          ),
        )
        .map(([b, type]) => ({ origin: "bytes", body: Buffer.from(b), type }));
      const huge = { origin: "huge", body: Buffer.alloc(70 * 1024, 0x20), type: "application/json" };
      const arb = fc.oneof(
        { arbitrary: mutatedJson, weight: 4 },
        { arbitrary: hexTx, weight: 3 },
        { arbitrary: randomJson, weight: 1 },
        { arbitrary: randomBytes, weight: 2 },
      );
      const cases = [...samples(arb, N, "api/post-txs"), huge];
      const tally = new Tally();
      const t0 = performance.now();
      for (const c of cases) {
        const r = await request("POST", "/txs", c.body, c.type);
        const label = checkAnswer(r, `POST /txs ${c.origin} ${c.body.toString("latin1").slice(0, 120)}`);
        expect(r.status, "a garbage transaction was accepted").not.toBe(202);
        tally.add(c.origin, label);
      }
      expect(node.mempool.size).toBe(0);
      report.push(`POST /txs: ${tally} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    },
    TIMEOUT,
  );

  it(
    "GET routes and random paths: 2xx with a body or 4xx { code, message }, never 5xx",
    async () => {
      const { node } = victim;
      const blockHash = node.head().hashHex;
      const address = node.peerId;
      const segment = fc.oneof(
        fc.constantFrom(
          blockHash,
          blockHash.toUpperCase(),
          address,
          "0",
          "1",
          "00",
          "-1",
          "1e3",
          "9007199254740992",
          "",
          ".",
          "..",
        ),
        fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEFg"), minLength: 60, maxLength: 68 }),
        fc.string({ maxLength: 80 }).map(encodeSegment),
        fc.string({ unit: "binary", maxLength: 30 }).map(encodeSegment),
        fc.constantFrom("%ZZ", "%", "%00", "%2F", "%ff%fe", "a%2e%2e", "%C0%AF"),
        fc.nat().map(String),
        fc.string({
          unit: fc.constantFrom("1", "2", "3", "D", "K", "o", "W", "z", "0", "l", "I"),
          maxLength: 60,
        }),
      );
      const queryValue = fc.oneof(
        fc.constantFrom(
          "0",
          "1",
          "100",
          "101",
          "-1",
          "1.5",
          "1e2",
          "",
          "abc",
          "%ff",
          "0x10",
          "99999999999999999999",
        ),
        fc.string({ maxLength: 20 }).map(encodeSegment),
      );
      const query = fc
        .array(
          fc.tuple(
            fc.constantFrom("from", "limit", "x", "__proto__", "constructor", "from[]", "limit"),
            queryValue,
          ),
          {
            maxLength: 3,
          },
        )
        .map((kv) => (kv.length === 0 ? "" : `?${kv.map(([k, v]) => `${k}=${v}`).join("&")}`));
      const route = fc.oneof(
        fc.tuple(fc.constant("/blocks"), query).map(([p, q]) => p + q),
        fc.tuple(segment, query).map(([s, q]) => `/blocks/${s}${q}`),
        fc.tuple(segment, query).map(([s, q]) => `/accounts/${s}${q}`),
        fc.tuple(segment, query).map(([s, q]) => `/txs/${s}${q}`),
        fc
          .tuple(
            fc.constantFrom(
              "/status",
              "/health",
              "/validators",
              "/metrics",
              "/openapi.json",
              "/txs",
              "/",
              "//",
              "/blocks/",
            ),
            query,
          )
          .map(([p, q]) => p + q),
        fc.array(segment, { minLength: 1, maxLength: 4 }).map((ss) => `/${ss.join("/")}`),
      );
      const method = fc.oneof(
        { arbitrary: fc.constant("GET"), weight: 6 },
        {
          arbitrary: fc.constantFrom("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "FOO"),
          weight: 1,
        },
      );
      const cases = samples(fc.tuple(method, route), N, "api/get-routes").filter(
        ([, path]) => !/^\/events(\?|$)/.test(path), // the event stream never ends: not for this loop
      );
      const tally = new Tally();
      const t0 = performance.now();
      for (const [m, path] of cases) {
        const r = await request(m, path);
        const label = m === "HEAD" ? String(r.status) : checkAnswer(r, `${m} ${path}`);
        if (m === "HEAD") expect(r.status).toBeLessThan(500);
        const first = path.split("/")[1]!.split("?")[0]!;
        const known = [
          "blocks",
          "accounts",
          "txs",
          "status",
          "health",
          "validators",
          "metrics",
          "openapi.json",
        ];
        tally.add(m !== "GET" ? m : known.includes(first) ? first : "random-path", label);
      }
      report.push(`GET & other methods: ${tally} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    },
    TIMEOUT,
  );

  it("malformed HTTP is answered 4xx with the API's { code, message } body", async () => {
    const bad = [
      "GET /blocks/\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
      "GARBAGE\r\n\r\n",
      "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
      "GET /status HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
      "GET /status HTTP/1.1\r\nHost: x\r\nX: \x00\r\n\r\n",
      `GET /status HTTP/1.1\r\nHost: x\r\nX: ${"a".repeat(20_000)}\r\n\r\n`,
      "POST /txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
      "GET /blocks/%ZZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      "GET /accounts/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ];
    const tally = new Tally();
    for (const head of bad) {
      const r = await httpRaw(head);
      tally.add("malformed", checkAnswer(r, JSON.stringify(head.slice(0, 60))));
      expect(r.status).toBeGreaterThanOrEqual(400);
    }
    report.push(`malformed HTTP: ${tally}`);
  });

  it("afterwards: no hazards, no 5xx logged, mempool empty, chain grew with the validator's blocks only", async () => {
    const { node, log } = victim;
    expect(hazards.unhandledRejections).toEqual([]);
    expect(hazards.uncaughtExceptions).toEqual([]);
    for (const msg of UNEXPECTED_FAILURE_LOGS) expect(log.find(msg), msg).toEqual([]);
    expect(node.mempool.size).toBe(0);
    const gained = await chainSince(node, startHeight);
    const elapsed = slotNow(victim.genesis) - startSlot;
    expect(gained.proposers).toEqual(new Set([toHex(victim.keys[0]!.publicKey)]));
    expect(gained.txs).toBe(0);
    expect(gained.blocks).toBeGreaterThan(elapsed / 3);
    report.push(`during the fuzz: ${gained.blocks} blocks forged in ${elapsed} slots`);
  });
});
