import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { gossipsubConfig } from "../../src/network/gossip.js";
import { defaultMdnsServiceTag, protocolId, topics } from "../../src/network/index.js";

describe("names on the wire", () => {
  it("puts the chain id in topics and protocol ids", () => {
    expect(topics("devnet-1")).toEqual({
      blocks: "/cardio/devnet-1/blocks/1",
      txs: "/cardio/devnet-1/txs/1",
    });
    expect(protocolId("devnet-1", "blocks_by_range")).toBe("/cardio/devnet-1/blocks_by_range/1");
  });

  it("refuses chain ids and names that would change the shape of an id", () => {
    expect(() => topics("a/b")).toThrow(RangeError);
    expect(() => topics("")).toThrow(RangeError);
    expect(() => protocolId("devnet", "status/2")).toThrow(RangeError);
  });

  it("derives distinct, DNS-safe mDNS service tags per chain", () => {
    const tag = defaultMdnsServiceTag("devnet-1");
    expect(tag).toMatch(/^_cardio-[0-9a-f]{12}\._udp\.local$/);
    expect(defaultMdnsServiceTag("devnet-2")).not.toBe(tag);
  });
});

describe("gossipsub configuration", () => {
  const base = { topics: ["/cardio/x/blocks/1"], maxMessageBytes: 1024 * 1024 };

  it("uses unsigned messages with content-hash ids and application verdicts", () => {
    const config = gossipsubConfig(base);
    expect(config).toMatchObject({
      globalSignaturePolicy: "StrictNoSign",
      asyncValidation: true,
      allowPublishToZeroTopicPeers: true,
      D: 6,
      Dlo: 4,
      Dhi: 12,
      Dout: 2,
      heartbeatInterval: 700,
    });
    const data = new TextEncoder().encode("block");
    const id = config.msgIdFn!({ type: "unsigned", topic: "t", data }) as Uint8Array;
    // sha256(topic ‖ "\n" ‖ data): the same bytes on another topic are another message.
    expect(config.msgIdToStrFn!(id)).toBe(createHash("sha256").update("t\n").update(data).digest("hex"));
    expect(config.msgIdToStrFn!(id)).toMatch(/^[0-9a-f]{64}$/);
    const other = config.msgIdFn!({ type: "unsigned", topic: "u", data }) as Uint8Array;
    expect(config.msgIdToStrFn!(other)).not.toBe(config.msgIdToStrFn!(id));
  });

  it("whitelists loopback from the IP-colocation penalty and punishes invalid messages", () => {
    const { scoreParams } = gossipsubConfig(base);
    expect([...(scoreParams!.IPColocationFactorWhitelist ?? [])]).toEqual(["127.0.0.1", "::1"]);
    const topic = scoreParams!.topics!["/cardio/x/blocks/1"]!;
    expect(topic.invalidMessageDeliveriesWeight).toBeLessThan(0);
    expect(topic.meshMessageDeliveriesWeight).toBe(0);
  });

  it("derives consistent degrees from D and refuses inconsistent ones", () => {
    expect(gossipsubConfig({ ...base, D: 3 })).toMatchObject({ D: 3, Dlo: 2, Dhi: 6, Dout: 1 });
    expect(gossipsubConfig({ ...base, D: 1 })).toMatchObject({ D: 1, Dlo: 1, Dhi: 2, Dout: 0 });
    expect(() => gossipsubConfig({ ...base, D: 4, Dlo: 5 })).toThrow(RangeError);
  });

  it("caps whole RPCs well above one message", () => {
    expect(gossipsubConfig(base).maxInboundDataLength).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    expect(
      gossipsubConfig({ ...base, maxMessageBytes: 8 * 1024 * 1024 }).maxInboundDataLength,
    ).toBeGreaterThan(8 * 1024 * 1024);
  });
});
