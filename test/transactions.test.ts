import {
  type Account,
  type Block,
  getAccount,
  type KeyPair,
  lotteryWinner,
  type SignedTx,
  signTx,
  type TxBody,
  TxError,
  toHex,
  totalSupply,
  txId,
} from "@cardio/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  type Cluster,
  chainOf,
  replayOffline,
  startCluster,
  waitForAgreement,
  waitForFullMesh,
  waitForHeight,
} from "./helpers/cluster.js";
import { waitFor } from "./helpers/waitFor.js";

/** An account's fields in a form `toEqual` compares exactly. */
function view(a: Account) {
  return {
    balance: a.balance.toString(),
    stake: a.stake.toString(),
    nonce: a.nonce,
    unbonding: a.unbonding.map((u) => `${u.amount}@${u.releaseSlot}`),
  };
}

describe("transactions submitted at different nodes", () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.stopAll();
    cluster = undefined;
  });

  it("are each included once, leave every node with the same state, and stakes steer the lottery", async () => {
    // Validator 3 starts funded but with no stake: it cannot win until its stake transaction lands.
    cluster = await startCluster({
      stakes: [100n, 60n, 40n, 0n],
      balance: 1000n,
      unbondingDelay: 4,
      slotMs: 250,
    });
    const { genesis, keys } = cluster;
    const nodes = cluster.running();
    expect(nodes).toHaveLength(4);
    // Gossip needs the connections up: a transaction submitted at node 3 (no stake yet, so it forges
    // nothing) reaches a block only through the txs topic.
    await waitForFullMesh(nodes);
    await waitForHeight(nodes, 2, 20_000);

    const pub = (i: number) => keys[i]!.publicKey;
    const body = (i: number, nonce: number, rest: Record<string, unknown>) =>
      ({ from: pub(i), nonce, fee: 1n, ...rest }) as TxBody;
    const sign = (b: TxBody, key: KeyPair) => signTx(b, key, genesis.chainId);

    // [signer, submitted at node, body]: every sender's transactions go in at different nodes, so a
    // later nonce often reaches a node before the earlier one (the mempool holds it until the gap fills).
    const plan: Array<[number, number, TxBody]> = [
      [0, 1, body(0, 0, { kind: "transfer", to: pub(3), amount: 100n })],
      [0, 2, body(0, 1, { kind: "bpm", bpm: 72 })],
      [0, 3, body(0, 2, { kind: "unstake", amount: 30n })],
      [1, 3, body(1, 0, { kind: "transfer", to: pub(2), amount: 50n })],
      [1, 0, body(1, 1, { kind: "stake", amount: 20n })],
      [2, 3, body(2, 0, { kind: "unstake", amount: 40n })], // all of it: validator 2 leaves the set
      [2, 1, body(2, 1, { kind: "bpm", bpm: 180 })],
      [3, 0, body(3, 0, { kind: "stake", amount: 500n })], // validator 3 joins with most of the stake
      [3, 2, body(3, 1, { kind: "bpm", bpm: 60 })],
    ];
    const txs: SignedTx[] = [];
    for (const [signer, at, b] of plan) {
      const tx = sign(b, keys[signer]!);
      txs.push(tx);
      expect(await nodes[at]!.submitTx(tx)).toBe(toHex(txId(tx)));
    }
    const ids = txs.map((tx) => toHex(txId(tx)));

    // A reading outside 1..300 is refused at submission, before it reaches the pool or the network.
    for (const bpm of [0, 301]) {
      const bad = sign(body(1, 2, { kind: "bpm", bpm }), keys[1]!);
      const refused = nodes[2]!.submitTx(bad);
      await expect(refused).rejects.toBeInstanceOf(TxError);
      await expect(refused).rejects.toMatchObject({ code: "TX_BPM_OUT_OF_RANGE" });
      expect(nodes[2]!.mempool.has(toHex(txId(bad)))).toBe(false);
    }

    // Every transaction lands on every node's canonical chain.
    await waitFor(
      async () => {
        for (const n of nodes)
          for (const id of ids) if ((await n.chain.txInclusion(id)) === undefined) return false;
        return true;
      },
      { timeoutMs: 30_000, what: "every transaction included on every node" },
    );
    const included = (await nodes[0]!.chain.txInclusion(ids[7]!))!.height;

    // Run on long enough after validator 3's stake for it to win (≈ 500/650 of the draws).
    await waitForHeight(nodes, included + 14, 30_000);
    const common = Math.min(...nodes.map((n) => n.head().height)) - 1;
    await waitForAgreement(nodes, common);

    // Exactly once on the canonical chain (the same chain on every node, checked above).
    const blocks: Block[] = await chainOf(nodes[0]!, common);
    const seen = new Map<string, number>();
    for (const b of blocks)
      for (const tx of b.txs) seen.set(toHex(txId(tx)), (seen.get(toHex(txId(tx))) ?? 0) + 1);
    for (const id of ids) expect(seen.get(id)).toBe(1);
    // Heights on the agreed chain (a reorg since the inclusion wait may have moved them).
    const heightOf = (id: string) => blocks.findIndex((b) => b.txs.some((tx) => toHex(txId(tx)) === id)) + 1;
    const stakeHeight = heightOf(ids[7]!);
    const unstakeHeight = heightOf(ids[5]!);
    expect(common - stakeHeight).toBeGreaterThanOrEqual(10);
    // Pools drop what was included.
    await waitFor(() => nodes.every((n) => ids.every((id) => !n.mempool.has(id))), {
      what: "included transactions to leave every mempool",
    });

    // Identical accounts on every node at the common height, and the values the transactions imply.
    const states = nodes.map((n) => n.chain.tree.canonicalAt(common)!.state);
    const accounts = states.map((s) => keys.map((k) => view(getAccount(s, k.publicKey))));
    for (const a of accounts.slice(1)) expect(a).toEqual(accounts[0]);
    const at = (i: number) => getAccount(states[0]!, pub(i));
    expect(keys.map((_, i) => at(i).nonce)).toEqual([3, 2, 2, 2]);
    expect(keys.map((_, i) => at(i).stake)).toEqual([70n, 80n, 0n, 500n]);
    // Nothing created or destroyed but block rewards: genesis supply + minted.
    const genesisSupply = genesis.accounts.reduce((sum, a) => sum + a.balance + a.stake, 0n);
    expect(totalSupply(states[0]!)).toBe(genesisSupply + states[0]!.minted);
    expect(states[0]!.minted).toBe(genesis.blockReward * BigInt(common));

    // Every proposer is the lottery winner re-derived offline, on the state each block was built on.
    const proposers = replayOffline(genesis, blocks);
    const byHeight = (h: number) => proposers[h - 1]!;
    const v2 = toHex(pub(2));
    const v3 = toHex(pub(3));
    // Validator 3 could not win before its stake was in a parent state, and wins after it.
    for (let h = 1; h <= stakeHeight; h++) expect(byHeight(h)).not.toBe(v3);
    const after = proposers.slice(stakeHeight);
    expect(after.filter((p) => p === v3).length).toBeGreaterThan(0);
    // Validator 2 unstaked everything: never a proposer again.
    for (let h = unstakeHeight + 1; h <= common; h++) expect(byHeight(h)).not.toBe(v2);
    // Offline, on the final state, 3 wins a clear majority of draws and 2 none.
    const head = nodes[0]!.chain.tree.canonicalAt(common)!;
    const draws = Array.from(
      { length: 400 },
      (_, i) => lotteryWinner(head.state, head.hash, head.slot + 1 + i, genesis.minStake)!.hex,
    );
    expect(draws.filter((w) => w === v2)).toHaveLength(0);
    expect(draws.filter((w) => w === v3).length).toBeGreaterThan(250);
  }, 90_000);
});
