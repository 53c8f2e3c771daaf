import { describe, expect, it } from "vitest";
import { readSse, type SseEvent } from "../../src/cli/sse.js";

async function parse(chunks: string[]): Promise<SseEvent[]> {
  async function* body(): AsyncGenerator<Uint8Array> {
    for (const c of chunks) yield new TextEncoder().encode(c);
  }
  const out: SseEvent[] = [];
  for await (const e of readSse(body())) out.push(e);
  return out;
}

describe("readSse", () => {
  it("reads named events, skips comments, joins multi-line data", async () => {
    const events = await parse([
      ": cardio events\n\n",
      'event: slot\ndata: {"slot":1}\n\n',
      "data: a\ndata: b\n\n",
      ": keepalive\n\n",
    ]);
    expect(events).toEqual([
      { event: "slot", data: '{"slot":1}', id: undefined },
      { event: "message", data: "a\nb", id: undefined },
    ]);
  });

  it("handles events split anywhere across chunks, and CRLF split between chunks", async () => {
    const text = 'event: slot\r\ndata: {"slot":42}\r\n\r\nevent: head\ndata:x\n\n';
    for (let cut = 1; cut < text.length; cut++) {
      const events = await parse([text.slice(0, cut), text.slice(cut)]);
      expect(events.map((e) => [e.event, e.data])).toEqual([
        ["slot", '{"slot":42}'],
        ["head", "x"],
      ]);
    }
  });

  it("drops an event the stream ended in the middle of", async () => {
    expect(await parse(["event: slot\ndata: 1\n"])).toEqual([]);
  });
});
