import { type Block, createDevnet, signTx, stateRoot, toHex, txId } from "@cardio/core";
import { afterEach, describe, expect, it } from "vitest";
import { type ChainNode, createChain } from "../../src/chain/chain.js";
import {
  decodeStateSnapshot,
  encodeStateSnapshot,
  STATE_SNAPSHOT_META,
} from "../../src/chain/stateSnapshot.js";
import type { Logger } from "../../src/logger.js";
import {
  type ChainStore,
  createChainStore,
  createLevelKvStore,
  createMemoryKvStore,
} from "../../src/storage/index.js";
import { forgeWinner } from "../helpers/forgeWinner.js";
import { makeTempDir } from "./fixtures.js";

/**
 * Restart from a state snapshot: `Chain.start()` resumes from the saved post-state of a final block and
 * replays only the blocks above it, with the same result as a replay from genesis; a snapshot that does
 * not match the stored chain is ignored.
 */

const { genesis, keys } = createDevnet({
  seed: "state-snapshot",
  validators: 3,
  chainId: "state-snapshot",
  genesisTime: Date.now() - 1000 * 60_000,
  slotMs: 1000,
});
/** Small, so the tree's root passes the snapshot interval (256) within a few hundred blocks. */
const KEEP_DEPTH = 8;
const BLOCKS = 300;

const forge = (parent: ChainNode, slot: number, candidates: Block["txs"] = []): Block =>
  forgeWinner(genesis, keys, parent, slot, candidates);

const transfer = (nonce: number) =>
  signTx(
    {
      kind: "transfer",
      from: keys[0]!.publicKey,
      to: keys[1]!.publicKey,
      amount: 5n,
      nonce,
      fee: 1n,
    },
    keys[0]!,
    genesis.chainId,
  );

/** Records the fields of every log line by message. */
function recordingLogger(): Logger & { lines: Array<{ msg: string; fields: Record<string, unknown> }> } {
  const lines: Array<{ msg: string; fields: Record<string, unknown> }> = [];
  const log = (fields: Record<string, unknown>, msg = "") => lines.push({ msg, fields });
  return { lines, debug: log, info: log, warn: log, error: log };
}

/** Builds BLOCKS blocks on `store` (a transfer at heights 3 and 280) and returns the chain's final view. */
async function buildChain(store: ChainStore) {
  const chain = createChain({ genesis, store, keepDepth: KEEP_DEPTH });
  await chain.start();
  const txs = [transfer(0), transfer(1)];
  for (let slot = 1; slot <= BLOCKS; slot++) {
    const candidates = slot === 3 ? [txs[0]!] : slot === 280 ? [txs[1]!] : [];
    const r = await chain.importBlock(forge(chain.head(), slot, candidates), "local");
    expect(r.status).toBe("imported");
  }
  // A side block on a recent parent (kept in the tree): the replay must bring it back too.
  const side = forge(chain.get(chain.head().parentHash)!, BLOCKS + 1);
  await chain.importBlock(side, "local");
  await chain.idle();
  return { chain, txs, side };
}

async function restartOn(store: ChainStore) {
  const logger = recordingLogger();
  const chain = createChain({ genesis, store, keepDepth: KEEP_DEPTH, logger });
  await chain.start();
  const loaded = logger.lines.find((l) => l.msg === "chain loaded from store")!.fields;
  return { chain, loaded, logger };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe("state snapshot", () => {
  it("round-trips a state through its encoding", async () => {
    const store = createChainStore(createMemoryKvStore());
    await store.open();
    const { chain } = await buildChain(store);
    const root = chain.tree.root();
    const decoded = decodeStateSnapshot(
      encodeStateSnapshot({ hash: root.hash, height: root.height, state: root.state }),
    )!;
    expect(decoded.height).toBe(root.height);
    expect(toHex(decoded.hash)).toBe(root.hashHex);
    expect(toHex(stateRoot(decoded.state))).toBe(toHex(stateRoot(root.state)));
    expect(decodeStateSnapshot(new TextEncoder().encode("{"))).toBeUndefined();
    expect(decodeStateSnapshot(new TextEncoder().encode('{"v":99}'))).toBeUndefined();
  });

  it.each([
    ["memory", async () => createChainStore(createMemoryKvStore())],
    [
      "LevelDB",
      async () => {
        const dir = await makeTempDir();
        return createChainStore(createLevelKvStore({ dir }));
      },
    ],
  ])("a restart on %s resumes from the snapshot, as a replay from genesis would", async (_, make) => {
    const store = await make();
    await store.open();
    cleanups.push(() => store.close());
    const { chain: before, txs, side } = await buildChain(store);
    const saved = decodeStateSnapshot((await store.getMeta(STATE_SNAPSHOT_META))!)!;
    // Saved when the root passed 256: the root is final (KEEP_DEPTH below the head).
    expect(saved.height).toBeGreaterThanOrEqual(256);
    expect(saved.height).toBeLessThanOrEqual(BLOCKS - KEEP_DEPTH);

    const { chain: after, loaded } = await restartOn(store);
    expect(loaded.snapshotHeight).toBe(saved.height);
    // Only the blocks above the snapshot were re-executed (the side block included).
    expect(loaded.replayed).toBe(BLOCKS - saved.height + 1);

    for (const c of [after]) {
      expect(c.head().hashHex).toBe(before.head().hashHex);
      expect(toHex(stateRoot(c.head().state))).toBe(toHex(stateRoot(before.head().state)));
      expect(c.get(side.header.parentHash)).toBeDefined();
      expect(c.knows(side.header.parentHash)).toBe(true);
      // History below the snapshot: known, served, and its transactions found.
      const early = await c.canonicalBlockAt(3);
      expect(early?.block.txs).toHaveLength(1);
      expect(c.knows(early!.hash)).toBe(true);
      expect(await c.txInclusion(toHex(txId(txs[0]!)))).toEqual({ height: 3, blockHash: toHex(early!.hash) });
      expect((await c.txInclusion(toHex(txId(txs[1]!))))?.height).toBe(280);
    }

    // The chain goes on from there and the next restart still agrees.
    const next = await after.importBlock(forge(after.head(), BLOCKS + 2), "local");
    expect(next.status).toBe("imported");
    await after.idle();
    const { chain: again } = await restartOn(store);
    expect(again.head().hashHex).toBe(after.head().hashHex);
  });

  it.each([
    ["unreadable", () => new TextEncoder().encode("not json")],
    [
      "a state that is not its block's",
      (s: ReturnType<typeof decodeStateSnapshot> & object) => {
        const accounts = new Map(s.state.accounts);
        const [k, a] = [...accounts][0]!;
        accounts.set(k, { ...a, balance: a.balance + 1n });
        return encodeStateSnapshot({ ...s, state: { ...s.state, accounts } });
      },
    ],
    [
      "a block that is not canonical",
      (s: ReturnType<typeof decodeStateSnapshot> & object) =>
        encodeStateSnapshot({ ...s, height: s.height + 1 }),
    ],
  ])("a snapshot that is %s is ignored: full replay, same chain", async (_, tamper) => {
    const store = createChainStore(createMemoryKvStore());
    await store.open();
    const { chain: before } = await buildChain(store);
    const saved = decodeStateSnapshot((await store.getMeta(STATE_SNAPSHOT_META))!)!;
    await store.putMeta(STATE_SNAPSHOT_META, tamper(saved));
    const { chain: after, loaded, logger } = await restartOn(store);
    expect(logger.lines.some((l) => l.msg.startsWith("state snapshot not usable"))).toBe(true);
    expect(loaded.snapshotHeight).toBeUndefined();
    expect(loaded.replayed).toBe(BLOCKS + 1);
    expect(after.head().hashHex).toBe(before.head().hashHex);
    expect(toHex(stateRoot(after.head().state))).toBe(toHex(stateRoot(before.head().state)));
  });
});
