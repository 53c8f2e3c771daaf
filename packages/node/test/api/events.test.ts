import { describe, expect, it } from "vitest";
import { createApiServer } from "../../src/api/apiServer.js";
import { STREAM_EVENTS } from "../../src/api/eventStream.js";
import { createFakeNode } from "./fakeNode.js";
import { startApi } from "./harness.js";

interface Received {
  event?: string;
  data?: unknown;
  comment?: string;
}

/** Reads server-sent events off a real HTTP response, one parsed frame at a time. */
function sseReader(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  return {
    async next(): Promise<Received> {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const out: Received = {};
          for (const line of frame.split("\n")) {
            if (line.startsWith(":")) out.comment = line.slice(1).trim();
            else if (line.startsWith("event: ")) out.event = line.slice(7);
            else if (line.startsWith("data: ")) out.data = JSON.parse(line.slice(6));
            else throw new Error(`unexpected SSE line ${JSON.stringify(line)}`);
          }
          return out;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        buffer += decoder.decode(value, { stream: true });
      }
    },
    /** The next frame that is an event (comments skipped). */
    async nextEvent(): Promise<Received> {
      for (;;) {
        const r = await this.next();
        if (r.event !== undefined) return r;
      }
    },
    cancel: () => reader.cancel(),
  };
}

async function until(predicate: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("GET /events", () => {
  it("streams slot, block and head events over HTTP as they happen", async () => {
    const api = await startApi();
    const abort = new AbortController();
    const res = await fetch(`${api.url}/events`, { signal: abort.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(res.headers.get("cache-control")).toContain("no-cache");
    const sse = sseReader(res.body!);
    expect((await sse.next()).comment).toBe("cardio events");

    const block = await api.node.forge();
    const slot = await sse.nextEvent();
    expect(slot).toEqual({
      event: "slot",
      data: { slot: 1, winner: expect.stringMatching(/^12D3KooW/), forgedByUs: false },
    });
    const imported = await sse.nextEvent();
    expect(imported.event).toBe("block");
    expect(imported.data).toMatchObject({ height: 1, slot: 1, txs: 0, source: "local" });
    const head = await sse.nextEvent();
    expect(head.event).toBe("head");
    expect(head.data).toMatchObject({ height: 1, slot: block.header.slot, reorgDepth: 0 });

    api.node.events.emit("missedSlot", { slot: 2, winner: api.node.address(1) });
    expect(await sse.nextEvent()).toEqual({
      event: "missedSlot",
      data: { slot: 2, winner: api.node.address(1) },
    });
    abort.abort();
  });

  it("unsubscribes from the node when the client disconnects: no listener leak", async () => {
    const api = await startApi();
    const { events } = api.node;
    expect(events.listenerCount()).toBe(0);
    const clients = await Promise.all(
      [1, 2, 3].map(async () => {
        const abort = new AbortController();
        const res = await fetch(`${api.url}/events`, { signal: abort.signal });
        const sse = sseReader(res.body!);
        await sse.next();
        return { abort, sse };
      }),
    );
    const perStream = STREAM_EVENTS.length; // head, block, slot, missedSlot, equivocation
    expect(events.listenerCount()).toBe(3 * perStream);
    clients[0]!.abort.abort();
    await until(() => events.listenerCount() === 2 * perStream);
    await clients[1]!.sse.cancel();
    await until(() => events.listenerCount() === perStream);
    // The survivor still gets events.
    await api.node.forge();
    expect((await clients[2]!.sse.nextEvent()).event).toBe("slot");
    clients[2]!.abort.abort();
    await until(() => events.listenerCount() === 0);
    // Emitting with nobody listening is harmless.
    await api.node.forge();
  });

  it("sends keep-alive comments while idle", async () => {
    const api = await startApi({ eventsKeepAliveMs: 50 });
    const abort = new AbortController();
    const res = await fetch(`${api.url}/events`, { signal: abort.signal });
    const sse = sseReader(res.body!);
    expect((await sse.next()).comment).toBe("cardio events");
    expect(await sse.next()).toEqual({ comment: "keepalive" });
    expect(await sse.next()).toEqual({ comment: "keepalive" });
    abort.abort();
  });

  it("ends open streams when the server stops, without hanging and without leaking listeners", async () => {
    const node = await createFakeNode();
    const server = createApiServer({ node });
    const { url } = await server.start();
    const res = await fetch(`${url}/events`);
    const sse = sseReader(res.body!);
    await sse.next();
    expect(node.events.listenerCount()).toBe(STREAM_EVENTS.length);
    const started = Date.now();
    await server.stop();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(node.events.listenerCount()).toBe(0);
    await expect(sse.next()).rejects.toThrow();
    await node.stop();
  });

  it("never lets a payload it cannot serialise reach the node's emit", async () => {
    const api = await startApi();
    const res = await fetch(`${api.url}/events`);
    const sse = sseReader(res.body!);
    await sse.next();
    // A BigInt cannot be JSON-serialised: the stream is closed, the emitter does not throw.
    expect(() => api.node.events.emit("missedSlot", { slot: 1n as unknown as number })).not.toThrow();
    await until(() => api.node.events.listenerCount() === 0);
  });
});
