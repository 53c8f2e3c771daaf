import { randomBytes } from "node:crypto";
import {
  type Block,
  BlockErrorCode,
  buildBlock,
  encodeBlock,
  getAccount,
  headerHash,
  lotteryWinner,
  signHeader,
  signTx,
  stateRoot,
  toHex,
  txId,
  txRoot,
} from "@cardio/core";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { afterEach, describe, expect, it } from "vitest";
import type { CardioNode, ChainNode } from "../packages/node/src/index.js";
import { createNetwork, type Network } from "../packages/node/src/network/index.js";
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

/** A node's `cardio_gossip_messages_total{topic,verdict}`. */
async function gossipCount(node: CardioNode, topic: string, verdict: string): Promise<number> {
  const metric = node.metrics.getSingleMetric("cardio_gossip_messages_total");
  if (metric === undefined) throw new Error("cardio_gossip_messages_total is not registered");
  const { values } = await metric.get();
  return values.find((v) => v.labels.topic === topic && v.labels.verdict === verdict)?.value ?? 0;
}

describe("bad actors on the blocks topic", () => {
  let cluster: Cluster | undefined;
  const bad: Network[] = [];
  afterEach(async () => {
    await Promise.all(bad.map((n) => n.stop()));
    for (const n of bad.splice(0)) expect(n.status).toBe("stopped");
    await cluster?.stopAll();
    cluster = undefined;
  });

  it("are rejected by every honest node, whose chain carries on", async () => {
    // Validators 0-2 are honest nodes; validator 3 is staked in genesis but runs no node: its key is
    // the attacker's, so it really wins some slots and can sign blocks for them.
    cluster = await startCluster({ stakes: [100n, 100n, 100n, 60n], slotMs: 250, startNow: [0, 1, 2] });
    const { genesis, keys } = cluster;
    const honest = cluster.running();
    const attacker = keys[3]!;
    await waitForFullMesh(honest);
    await waitForHeight(honest, 3, 20_000);

    // A parent every honest node holds, and a slot of the attacker's on it: any slot after the parent's
    // that has begun is valid, so the most recent such parent with an attacker slot since is taken.
    const known = Math.min(...honest.map((n) => n.head().height)) - 1;
    await waitForAgreement(honest, known);
    const mine = toHex(attacker.publicKey);
    const { parent, slot } = await waitFor(
      () => {
        const now = honest[0]!.status().currentSlot;
        for (let h = known; h >= 1; h--) {
          const p: ChainNode = honest[0]!.chain.tree.canonicalAt(h)!;
          for (let s = p.slot + 1; s <= now; s++) {
            if (lotteryWinner(p.state, p.hash, s, genesis.minStake)?.hex === mine)
              return { parent: p, slot: s };
          }
        }
        return undefined;
      },
      { timeoutMs: 20_000, what: "a slot the attacker wins on a block every honest node holds" },
    );
    const grandparent: ChainNode = honest[0]!.chain.get(parent.parentHash)!;

    // 1. Bad signature: the right proposer and roots, but signed by someone else.
    const good = buildBlock({ config: genesis, parent, slot, key: attacker, candidates: [] });
    const badSig: Block = {
      ...good.block,
      header: { ...signHeader(good.block.header, keys[0]!, genesis.chainId), proposer: attacker.publicKey },
    };
    // 2. Wrong proposer: validly signed by the attacker for a slot an honest validator won (the parent's).
    expect(lotteryWinner(grandparent.state, grandparent.hash, parent.slot, genesis.minStake)?.hex).not.toBe(
      toHex(attacker.publicKey),
    );
    const wrongProposer = buildBlock({
      config: genesis,
      parent: grandparent,
      slot: parent.slot,
      key: attacker,
      candidates: [],
    }).block;
    // 3. An invalid transaction: the winner's own block, but it spends more than the sender has.
    const balance = getAccount(parent.state, attacker.publicKey).balance;
    const overspend = signTx(
      {
        kind: "transfer",
        from: attacker.publicKey,
        to: keys[0]!.publicKey,
        nonce: getAccount(parent.state, attacker.publicKey).nonce,
        fee: 0n,
        amount: balance + 1n,
      },
      attacker,
      genesis.chainId,
    );
    const invalidTx: Block = {
      header: signHeader(
        {
          height: parent.height + 1,
          slot,
          parentHash: parent.hash,
          proposer: attacker.publicKey,
          txRoot: txRoot([txId(overspend)]),
          stateRoot: stateRoot(parent.state),
        },
        attacker,
        genesis.chainId,
      ),
      txs: [overspend],
    };
    // 4. Random bytes.
    const noise = new Uint8Array(randomBytes(300));

    const attacks: Array<{ name: string; bytes: Uint8Array; hash?: string; code?: string }> = [
      { name: "bad signature", bytes: encodeBlock(badSig), code: BlockErrorCode.BAD_SIGNATURE },
      { name: "wrong proposer", bytes: encodeBlock(wrongProposer), code: BlockErrorCode.WRONG_PROPOSER },
      { name: "invalid transaction", bytes: encodeBlock(invalidTx), code: BlockErrorCode.INVALID_TX },
      { name: "random bytes", bytes: noise },
    ];
    attacks[0]!.hash = toHex(headerHash(badSig.header));
    attacks[1]!.hash = toHex(headerHash(wrongProposer.header));
    attacks[2]!.hash = toHex(headerHash(invalidTx.header));
    expect(new Set(attacks.map((a) => a.hash).filter(Boolean)).size).toBe(3);

    const invalid = honest.map(() => new Map<string, string>());
    const unsubscribe = honest.map((n, i) =>
      n.chain.on("invalid", ({ hash, error }) => invalid[i]!.set(hash, error.code)),
    );
    const rejectsBefore = await Promise.all(honest.map((n) => gossipCount(n, "blocks", "reject")));
    const bootstrap = honest.map((n) => n.multiaddrs()[0]!);

    // Each attack comes from its own libp2p identity: gossipsub graylists a peer after about three invalid
    // messages (gossipScore.ts), after which whatever it sends is dropped unvalidated.
    const nets = await Promise.all(
      attacks.map(async () => {
        const net = createNetwork({
          privateKey: await generateKeyPair("Ed25519"),
          chainId: genesis.chainId,
          bootstrap,
          mdns: false,
        });
        bad.push(net);
        net.onMessage(net.topics.blocks, () => "ignore");
        await net.start();
        return net;
      }),
    );
    for (const [k, attack] of attacks.entries()) {
      const net = nets[k]!;
      // Publishing before the peer knows the honest nodes' subscriptions (and has its streams to them
      // open) would lose the message: wait until every honest node is in its mesh for the topic.
      const topic = net.topics.blocks;
      await waitFor(
        () =>
          honest.every(
            (n) => net.subscribers(topic).includes(n.peerId) && net.meshPeers(topic).includes(n.peerId),
          ),
        {
          timeoutMs: 10_000,
          what: () =>
            `every honest node in the bad peer's mesh (${attack.name}: mesh ${net.meshPeers(topic).length})`,
        },
      );
      expect(await net.publish(net.topics.blocks, attack.bytes)).toBeGreaterThanOrEqual(honest.length);
      await waitFor(
        async () => {
          const now = await Promise.all(honest.map((n) => gossipCount(n, "blocks", "reject")));
          return now.every((c, i) => c === rejectsBefore[i]! + k + 1);
        },
        {
          timeoutMs: 10_000,
          what: () =>
            `every honest node to reject the ${attack.name} block (rejects before: ${rejectsBefore.join(",")}, step ${k + 1})`,
        },
      );
    }
    for (const u of unsubscribe) u();

    for (const [i, n] of honest.entries()) {
      // Exactly the four attacks were rejected: nothing honest was.
      expect(await gossipCount(n, "blocks", "reject")).toBe(rejectsBefore[i]! + attacks.length);
      for (const a of attacks) {
        if (a.hash === undefined) continue;
        expect(invalid[i]!.get(a.hash), `${a.name} at node ${i}`).toBe(a.code);
        expect(n.chain.knows(a.hash)).toBe(false);
      }
    }

    // The honest chain carries on, agreed by all, and holds none of the attackers' blocks.
    const after = Math.max(...honest.map((n) => n.head().height));
    await waitForHeight(honest, after + 6, 20_000);
    const common = Math.min(...honest.map((n) => n.head().height)) - 1;
    const hashes = await waitForAgreement(honest, common);
    for (const a of attacks) if (a.hash !== undefined) expect(hashes).not.toContain(a.hash);
    const proposers = replayOffline(genesis, await chainOf(honest[0]!, common));
    expect(proposers).not.toContain(toHex(attacker.publicKey));
    for (const n of honest)
      for (const a of attacks) if (a.hash !== undefined) expect(n.chain.knows(a.hash)).toBe(false);
  }, 90_000);
});
