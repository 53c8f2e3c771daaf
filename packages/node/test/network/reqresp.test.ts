import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Libp2p } from "@libp2p/interface";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";
import { afterEach, describe, expect, it } from "vitest";
import {
  DEFAULT_RATE_LIMIT,
  type Network,
  protocolId,
  ReqRespError,
  ReqRespErrorCode,
} from "../../src/network/index.js";
import { createRateLimiter } from "../../src/network/rateLimiter.js";
import { networkPool, uniqueChainId } from "./helpers.js";
import { waitFor } from "./waitFor.js";

const pool = networkPool();
const rawNodes: Libp2p[] = [];
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

afterEach(async () => {
  for (const network of await pool.stopAll()) expect(network.status).toBe("stopped");
  for (const node of rawNodes.splice(0)) {
    await node.stop();
    expect(node.status).toBe("stopped");
  }
});

async function pair(
  serverOptions: Parameters<typeof pool.start>[0] extends infer O ? Partial<O> : never = {},
) {
  const chainId = uniqueChainId();
  const server = await pool.start({ chainId, ...serverOptions });
  const client = await pool.start({ chainId });
  await client.dial(server.multiaddrs()[0]!);
  return { server, client, chainId };
}

async function requestError(promise: Promise<unknown>): Promise<ReqRespError> {
  const err = await promise.then(
    () => {
      throw new Error("request unexpectedly succeeded");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReqRespError);
  return err as ReqRespError;
}

function serveEcho(server: Network): void {
  server.handle("echo", (payload, { peerId }) => text(`${str(payload)} from ${peerId}`));
}

describe("request/response", () => {
  it("round-trips a request and its response", async () => {
    const { server, client } = await pair();
    serveEcho(server);
    const response = await client.request(server.peerId, "echo", text("ping"));
    expect(str(response)).toBe(`ping from ${client.peerId}`);
    // An empty payload and an empty response are valid frames too.
    server.handle("empty", () => new Uint8Array(0));
    expect((await client.request(server.peerId, "empty", new Uint8Array(0))).byteLength).toBe(0);
  });

  it("times out and aborts when the handler never answers, and the responder stays healthy", async () => {
    const { server, client } = await pair();
    server.handle("never", () => new Promise<Uint8Array>(() => {}));
    serveEcho(server);
    const started = Date.now();
    const err = await requestError(client.request(server.peerId, "never", text("?"), { timeoutMs: 300 }));
    expect(err.code).toBe(ReqRespErrorCode.TIMEOUT);
    expect(err.timeoutMs).toBe(300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(str(await client.request(server.peerId, "echo", text("still there")))).toContain("still there");
  });

  it("answers RATE_LIMITED once a peer's bucket for a protocol is empty, per protocol", async () => {
    const { server, client } = await pair({ reqresp: { rateLimit: { ratePerSecond: 0.01, burst: 3 } } });
    serveEcho(server);
    server.handle("other", () => text("ok"));
    for (let i = 0; i < 3; i++) await client.request(server.peerId, "echo", text(`${i}`));
    const err = await requestError(client.request(server.peerId, "echo", text("one too many")));
    expect(err.code).toBe(ReqRespErrorCode.RATE_LIMITED);
    expect(str(await client.request(server.peerId, "other", text("")))).toBe("ok");
  });

  it("charges answers by their bytes: big answers run out of budget where as many small ones do not", async () => {
    const { server, client } = await pair({
      reqresp: { rateLimit: { bytesPerSecond: 1, burstBytes: 100_000 } },
    });
    server.handle("range", () => new Uint8Array(40_000));
    server.handle("status", () => new Uint8Array(80));
    // 100 000 bytes of budget: 40 000, 80 000, then the third answer is sent on credit (the size is
    // known only once the handler answered) and puts the peer 20 000 bytes in debt.
    for (let i = 0; i < 3; i++)
      expect((await client.request(server.peerId, "range", text(""))).byteLength).toBe(40_000);
    const err = await requestError(client.request(server.peerId, "range", text("")));
    expect(err.code).toBe(ReqRespErrorCode.RATE_LIMITED);
    // As many requests and more, with small answers, are served (and each protocol has its own budget).
    for (let i = 0; i < 20; i++)
      expect((await client.request(server.peerId, "status", text(""))).byteLength).toBe(80);
  });

  it("with the defaults, an honest sync of a 10 000-block chain at full speed is never throttled", async () => {
    const { server, client } = await pair();
    // Empty blocks (≈250 bytes each), 256 to an answer as `blocks_by_range` gives them.
    server.handle("blocks_by_range", () => new Uint8Array(4 + 256 * (4 + 250)));
    server.handle("status", () => new Uint8Array(80));
    let next: Promise<Uint8Array> | undefined;
    const ask = () => client.request(server.peerId, "blocks_by_range", new Uint8Array(12));
    // One request ahead, as sync.ts does, and a status poll now and then: 40 × 256 = 10 240 blocks.
    for (let i = 0; i < 40; i++) {
      const current = next ?? ask();
      next = i < 39 ? ask() : undefined;
      expect((await current).byteLength).toBe(4 + 256 * 254);
      if (i % 10 === 0) await client.request(server.peerId, "status", new Uint8Array(80));
    }
  });

  it("the default byte budget covers a sync importing full blocks four times faster than this machine can", () => {
    // The most bytes an honest sync can ask for is bounded by how fast it imports them. Full blocks
    // (1 MiB, ≈8 800 transfers of ≈120 bytes) are imported at the speed of signature checks, ≈15 000/s
    // per core here: ≈1.8 MB/s of answers. Simulated at 4× that rate, as answers of 3 full blocks (the
    // 3 MiB answer cap), one request ahead, for a 10 000-block chain.
    let now = 0;
    const bytes = createRateLimiter({
      ratePerSecond: DEFAULT_RATE_LIMIT.bytesPerSecond,
      burst: DEFAULT_RATE_LIMIT.burstBytes,
      now: () => now,
    });
    const requests = createRateLimiter({
      ratePerSecond: DEFAULT_RATE_LIMIT.ratePerSecond,
      burst: DEFAULT_RATE_LIMIT.burst,
      now: () => now,
    });
    const answerBytes = 3 * 1024 * 1024;
    const importMsPerAnswer = (3 * 8_800 * 1_000) / (4 * 15_000);
    let refused = 0;
    for (let answer = 0; answer < 10_000 / 3; answer++) {
      if (!requests.take("peer") || bytes.tokens("peer") <= 0) refused++;
      bytes.charge("peer", answerBytes);
      if (answer > 0) now += importMsPerAnswer; // the first two go out at once (one ahead)
    }
    expect(refused).toBe(0);
    // And empty blocks (≈250 bytes, imported at ≈3 100/s here) at 4× this machine's speed.
    now += 3_600_000;
    for (let answer = 0; answer < 10_000 / 256; answer++) {
      if (!requests.take("peer2") || bytes.tokens("peer2") <= 0) refused++;
      bytes.charge("peer2", 256 * 254);
      if (answer > 0) now += (256 * 1_000) / (4 * 3_100);
    }
    expect(refused).toBe(0);
  });

  it("many exchanges in flight at once raise no MaxListenersExceededWarning", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const { server, client } = await pair();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let arrived = 0;
      server.handle("slow", async () => {
        arrived++;
        await gate;
        return text("done");
      });
      // 30 at once: under the 32 streams a connection may hold per protocol, and far over the 10
      // listeners after which Node warns about one AbortSignal.
      const pending = Array.from({ length: 30 }, () => client.request(server.peerId, "slow", text("")));
      await waitFor(() => arrived === 30, { message: "every request at the handler", timeoutMs: 10_000 });
      release();
      expect((await Promise.all(pending)).map(str)).toEqual(Array(30).fill("done"));
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("propagates a handler's error message as REMOTE_ERROR", async () => {
    const { server, client } = await pair();
    server.handle("fail", () => {
      throw new Error("no such block");
    });
    const err = await requestError(client.request(server.peerId, "fail", text("x")));
    expect(err.code).toBe(ReqRespErrorCode.REMOTE_ERROR);
    expect(err.remoteMessage).toBe("no such block");
    expect(err.protocol).toBe(protocolId(server.chainId, "fail"));
    expect(err.peerId).toBe(server.peerId);
  });

  it("fails with UNSUPPORTED_PROTOCOL for unknown protocols and for peers of another chain", async () => {
    const { server, client } = await pair();
    serveEcho(server);
    expect((await requestError(client.request(server.peerId, "nope", text("")))).code).toBe(
      ReqRespErrorCode.UNSUPPORTED_PROTOCOL,
    );
    const stranger = await pool.start({ chainId: uniqueChainId() });
    await stranger.dial(server.multiaddrs()[0]!);
    expect((await requestError(stranger.request(server.peerId, "echo", text("")))).code).toBe(
      ReqRespErrorCode.UNSUPPORTED_PROTOCOL,
    );
  });

  it("fails with DIAL_FAILED for an unreachable peer and REQUEST_TOO_LARGE before sending", async () => {
    const client = await pool.start({ chainId: uniqueChainId(), reqresp: { maxDataLength: 1024 } });
    const unknown = (await pool.create({ chainId: client.chainId })).peerId;
    expect((await requestError(client.request(unknown, "echo", text("")))).code).toBe(
      ReqRespErrorCode.DIAL_FAILED,
    );
    expect((await requestError(client.request(unknown, "echo", new Uint8Array(2048)))).code).toBe(
      ReqRespErrorCode.REQUEST_TOO_LARGE,
    );
  });

  it("rejects oversized frames in both directions without harming either node", async () => {
    const chainId = uniqueChainId();
    const server = await pool.start({ chainId, reqresp: { maxDataLength: 1024 } });
    const client = await pool.start({ chainId, reqresp: { maxDataLength: 1024 * 1024 } });
    await client.dial(server.multiaddrs()[0]!);
    serveEcho(server);
    server.handle("big", (payload) =>
      str(payload) === "huge" ? new Uint8Array(8 * 1024) : new Uint8Array(512),
    );
    // The server aborts a stream whose request frame is over its limit.
    const tooBig = await requestError(client.request(server.peerId, "echo", new Uint8Array(64 * 1024)));
    expect(tooBig.code).toBe(ReqRespErrorCode.STREAM_ERROR);
    // A handler response over the limit becomes an error frame rather than a broken stream.
    const overLimit = await requestError(client.request(server.peerId, "big", text("huge")));
    expect(overLimit.code).toBe(ReqRespErrorCode.REMOTE_ERROR);
    // A response over the client's own limit is MALFORMED.
    const small = await pool.start({ chainId, reqresp: { maxDataLength: 256 } });
    await small.dial(server.multiaddrs()[0]!);
    const malformed = await requestError(small.request(server.peerId, "big", text("512")));
    expect(malformed.code).toBe(ReqRespErrorCode.MALFORMED);
    expect(str(await client.request(server.peerId, "echo", text("fine")))).toContain("fine");
  });

  it("closes a stream carrying a malformed frame and keeps serving", async () => {
    const chainId = uniqueChainId();
    const server = await pool.start({ chainId });
    serveEcho(server);
    const raw = await createLibp2p({
      privateKey: await generateKeyPair("Ed25519"),
      addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
    });
    rawNodes.push(raw);
    const stream = await raw.dialProtocol(multiaddr(server.multiaddrs()[0]!), protocolId(chainId, "echo"));
    // Eleven continuation bytes: no valid varint length prefix.
    await stream.sink([new Uint8Array(11).fill(0xff)]);
    let received = 0;
    await expect(
      (async () => {
        for await (const chunk of stream.source) received += chunk.byteLength;
      })(),
    ).rejects.toThrow();
    expect(received).toBe(0);
    await waitFor(() => stream.status !== "open", { message: "stream closed by the server" });
    expect(server.status).toBe("started");
    const client = await pool.start({ chainId });
    await client.dial(server.multiaddrs()[0]!);
    expect(str(await client.request(server.peerId, "echo", text("ok")))).toContain("ok");
  });

  it("aborts requests in flight when the requester stops", async () => {
    const { server, client } = await pair();
    let called = false;
    server.handle("never", () => {
      called = true;
      return new Promise<Uint8Array>(() => {});
    });
    const pending = requestError(client.request(server.peerId, "never", text("?"), { timeoutMs: 20_000 }));
    await waitFor(() => called, { message: "handler reached" });
    await client.stop();
    expect((await pending).code).toBe(ReqRespErrorCode.ABORTED);
    expect((await requestError(client.request(server.peerId, "never", text("?")))).code).toBe(
      ReqRespErrorCode.NOT_STARTED,
    );
  });

  it("refuses to register one protocol twice", async () => {
    const network = await pool.create({ chainId: uniqueChainId() });
    serveEcho(network);
    expect(() => serveEcho(network)).toThrow(/already registered/);
    network.unhandle("echo");
    serveEcho(network);
  });
});
