import { createDevnet } from "@cardio/core";
import { describe, expect, it } from "vitest";
import {
  type CardioNode,
  createChainStore,
  createMemoryKvStore,
  createNode,
  type KvStore,
} from "../packages/node/src/index.js";
import { recordingLogger } from "./helpers/syncHelpers.js";
import { waitFor } from "./helpers/waitFor.js";

const LAST_SIGNED_SLOT_KEY = 0x06;

/**
 * A slow disk: once armed, the first write of the last signed slot (the forger's first step, before
 * it signs) is held for `holdMs`, and `onHeld` runs as it starts.
 */
function slowSignedSlotStore(inner: KvStore, holdMs: number) {
  let armed: (() => void) | undefined;
  const kv: KvStore = {
    open: () => inner.open(),
    close: () => inner.close(),
    get: (key) => inner.get(key),
    iterate: (range) => inner.iterate(range),
    async batch(ops, options) {
      const hook = armed;
      if (hook !== undefined && ops.some((op) => op.key.length === 1 && op.key[0] === LAST_SIGNED_SLOT_KEY)) {
        armed = undefined;
        hook();
        await new Promise((r) => setTimeout(r, holdMs));
      }
      return inner.batch(ops, options);
    },
  };
  return { kv, arm: (onHeld: () => void) => (armed = onHeld) };
}

describe("stopping a node while it forges", () => {
  it("waits for the slot in progress: the block it signs is imported and stored, and nothing fails", async () => {
    const { genesis, keys } = createDevnet({
      seed: `stop-while-forging-${process.pid}`,
      validators: 1,
      genesisTime: Date.now() + 300 - 200,
      slotMs: 200,
    });
    const memory = createMemoryKvStore();
    const slow = slowSignedSlotStore(memory, 150);
    const log = recordingLogger();
    const node: CardioNode = createNode({
      genesis,
      key: keys[0]!,
      store: createChainStore(slow.kv),
      mdns: false,
      slotLog: false,
      logger: log,
    });
    await node.start();
    await waitFor(() => node.head().height >= 2, { timeoutMs: 15_000, what: () => "height 2" });

    // Stop exactly while the forger is persisting the slot it is about to sign.
    let stopping: Promise<void> | undefined;
    slow.arm(() => {
      stopping = node.stop();
    });
    await waitFor(() => stopping !== undefined, { timeoutMs: 5_000, what: () => "the next forging slot" });
    await stopping;
    expect(node.isRunning()).toBe(false);

    // Nothing failed on the way down (a closed store or network would have logged an error).
    expect(log.entries.filter((e) => e.level === "error").map((e) => e.msg)).toEqual([]);
    expect(log.find("forging failed")).toEqual([]);

    // The slot it signed has its block on disk: signing and storing the block are one unit across a stop.
    await memory.open();
    const store = createChainStore(memory);
    const signed = await store.getLastSignedSlot();
    const head = await store.getHead();
    expect(signed).toBeDefined();
    expect(head).toBeDefined();
    const meta = await store.getBlockMeta(head!.hash);
    expect(meta?.slot).toBe(signed);
    await memory.close();
  });
});
