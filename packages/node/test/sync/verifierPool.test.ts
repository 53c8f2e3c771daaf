import {
  buildBlock,
  createDevnet,
  equalBytes,
  genesisBlock,
  lotteryWinner,
  signBytes,
  signTx,
} from "@cardio/core";
import { afterEach, describe, expect, it } from "vitest";
import { createVerifierPool, type VerifierPool } from "../../src/verify/verifierPool.js";

const { genesis, keys } = createDevnet({
  seed: "verifier-pool",
  validators: 3,
  chainId: "verifier-pool",
  genesisTime: 0,
  slotMs: 1000,
});

function check(i: number, valid = true) {
  const key = keys[i % keys.length]!;
  const message = Uint8Array.from([i, i >> 8, 7]);
  const signature = signBytes(key, message);
  if (!valid) signature[3]! ^= 1;
  return { publicKey: key.publicKey, message, signature };
}

/** Two blocks on genesis: the second has a transaction whose signature is broken. */
function blocks() {
  const g = genesisBlock(genesis);
  const parent = { hash: g.hash, height: 0, slot: 0, state: g.state };
  const make = (slot: number, txs = [] as ReturnType<typeof signTx>[]) => {
    const winner = lotteryWinner(parent.state, parent.hash, slot, genesis.minStake)!;
    const key = keys.find((k) => equalBytes(k.publicKey, winner.publicKey))!;
    return buildBlock({ config: genesis, parent, slot, key, candidates: txs, candidatesVerified: true })
      .block;
  };
  const tx = signTx(
    { kind: "transfer", from: keys[0]!.publicKey, to: keys[1]!.publicKey, amount: 1n, nonce: 0, fee: 1n },
    keys[0]!,
    genesis.chainId,
  );
  const good = make(1, [tx]);
  const sig = tx.signature.slice();
  sig[0]! ^= 1;
  const bad = make(2, [{ ...tx, signature: sig }]);
  expect(good.txs).toHaveLength(1);
  expect(bad.txs).toHaveLength(1);
  return [good, bad];
}

describe("verifier pool", () => {
  let pool: VerifierPool | undefined;
  afterEach(async () => {
    await pool?.stop();
    expect(pool?.threads ?? 0).toBe(0);
    pool = undefined;
  });

  it("verifies in worker threads, spawned on the first job, with the results of verifyBytes", async () => {
    pool = createVerifierPool({ size: 2 });
    pool.start();
    expect(pool.threads).toBe(0);
    const checks = Array.from({ length: 200 }, (_, i) => check(i, i % 7 !== 3));
    const [a, b] = await Promise.all([pool.verify(checks.slice(0, 100)), pool.verify(checks.slice(100))]);
    expect(pool.threads).toBe(2);
    expect([...a!, ...b!]).toEqual(checks.map((_, i) => i % 7 !== 3));
    // Malformed lengths fail without reaching a worker, like verifyBytes.
    const c = check(1);
    expect(
      await pool.verify([
        { ...c, publicKey: c.publicKey.slice(1) },
        { ...c, signature: c.signature.slice(1) },
        c,
      ]),
    ).toEqual([false, false, true]);
    expect(await pool.verify([])).toEqual([]);
  });

  it("judges blocks whole: the header's and every transaction's signature", async () => {
    pool = createVerifierPool({ size: 1 });
    pool.start();
    expect(await pool.verifyBlocks(blocks(), genesis.chainId)).toEqual([true, false]);
  });

  it("verifies on the calling thread with size 0 or before start", async () => {
    pool = createVerifierPool({ size: 0 });
    pool.start();
    expect(await pool.verify([check(1), check(2, false)])).toEqual([true, false]);
    expect(pool.threads).toBe(0);
    const idle = createVerifierPool({ size: 1 });
    expect(await idle.verify([check(1)])).toEqual([true]);
    expect(idle.threads).toBe(0);
  });

  it("lets the caller run a job no worker has taken yet (expedite), and not one already taken", async () => {
    pool = createVerifierPool({ size: 1 });
    pool.start();
    // One worker takes two jobs at a time: the third waits in the queue.
    const jobs = [0, 1, 2].map((j) => pool!.verify(Array.from({ length: 50 }, (_, i) => check(j * 50 + i))));
    let settled = false;
    void jobs[2]!.then(() => {
      settled = true;
    });
    pool.expedite(jobs[2]!);
    await Promise.resolve();
    expect(settled).toBe(true);
    pool.expedite(jobs[0]!); // taken by the worker: nothing happens, it answers as usual
    for (const j of jobs) expect(await j).toEqual(new Array(50).fill(true));
    // Through verifyBlocks too.
    const [a, b] = [
      pool.verifyBlocks(blocks(), genesis.chainId),
      pool.verifyBlocks(blocks(), genesis.chainId),
    ];
    const c = pool.verifyBlocks(blocks(), genesis.chainId);
    pool.expedite(c);
    expect(await c).toEqual([true, false]);
    expect([await a, await b]).toEqual([
      [true, false],
      [true, false],
    ]);
  });

  it("stops its threads, answers jobs cut short as not verified, and can start again", async () => {
    pool = createVerifierPool({ size: 1 });
    pool.start();
    const many = Array.from({ length: 3000 }, (_, i) => check(i));
    const pending = pool.verify(many);
    expect(pool.threads).toBe(1);
    await pool.stop();
    expect(pool.threads).toBe(0);
    const r = await pending;
    // Either the worker answered before the stop, or the job reads "not verified": never a false yes.
    expect(r.every((x) => x) || r.every((x) => !x)).toBe(true);
    pool.start();
    expect(await pool.verify([check(5)])).toEqual([true]);
    expect(pool.threads).toBe(1);
  });
});
