import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareBytes, toHex } from "../src/bytes.js";
import { createForkChoice, type ForkChoice, type ForkNodeInput } from "../src/forkChoice.js";
import { ForkChoiceError, ForkChoiceErrorCode } from "../src/forkChoiceError.js";

/** A 32-byte hash whose first byte sets the bytewise order and whose last bytes keep it unique. */
function hashOf(order: number, id: number): Uint8Array {
  const h = new Uint8Array(32);
  h[0] = order;
  h[30] = id >> 8;
  h[31] = id & 0xff;
  return h;
}

type State = { readonly label: string };
type Input = ForkNodeInput<State, string>;

// Not all zeros: the root's default parent hash is, and parent walks would loop.
const GENESIS = hashOf(0x42, 0xfff0);

function newTree(autoPruneDepth?: number): ForkChoice<State, string> {
  return createForkChoice<State, string>({
    root: { hash: GENESIS, state: { label: "genesis" } },
    ...(autoPruneDepth === undefined ? {} : { autoPruneDepth }),
  });
}

let nextId = 1;
/** A child of `parent` (given as an input or the genesis hash) with a chosen hash order byte. */
function child(parent: Input | Uint8Array, order = 0x80, slotGap = 1): Input {
  const isRoot = parent instanceof Uint8Array;
  const id = nextId++;
  return {
    hash: hashOf(order, id),
    parentHash: isRoot ? parent : parent.hash,
    height: isRoot ? 1 : parent.height + 1,
    slot: (isRoot ? 0 : parent.slot) + slotGap,
    state: { label: `s${id}` },
    block: `b${id}`,
  };
}

/** A chain of `n` blocks on top of `parent`. */
function chain(parent: Input | Uint8Array, n: number, order = 0x80): Input[] {
  const out: Input[] = [];
  let p = parent;
  for (let i = 0; i < n; i++) {
    const c = child(p, order);
    out.push(c);
    p = c;
  }
  return out;
}

const hexes = (nodes: readonly { hashHex: string }[]) => nodes.map((n) => n.hashHex);

function catchError(fn: () => unknown): ForkChoiceError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ForkChoiceError) return err;
    throw err;
  }
  throw new Error("expected a ForkChoiceError");
}

describe("fork choice", () => {
  it("starts at the root", () => {
    const t = newTree();
    expect(t.size).toBe(1);
    expect(t.head().hashHex).toBe(toHex(GENESIS));
    expect(t.head().height).toBe(0);
    expect(t.head().slot).toBe(0);
    expect(t.root()).toBe(t.head());
    expect(t.canonicalAt(0)).toBe(t.head());
    expect(t.tips()).toEqual([t.head()]);
  });

  it("follows a linear chain", () => {
    const t = newTree();
    const blocks = chain(GENESIS, 5);
    for (const b of blocks) {
      const r = t.add(b);
      expect(r).toEqual({ added: true, headChanged: true, head: t.get(b.hash) });
    }
    expect(t.size).toBe(6);
    expect(t.head().hashHex).toBe(toHex(blocks[4]!.hash));
    expect(t.head().state).toEqual(blocks[4]!.state);
    expect(t.head().block).toBe(blocks[4]!.block);
    for (const [i, b] of blocks.entries()) expect(t.canonicalAt(i + 1)?.hashHex).toBe(toHex(b.hash));
    expect(t.canonicalAt(6)).toBeUndefined();
    expect(t.canonicalAt(-1)).toBeUndefined();
    expect(t.tips()).toEqual([t.head()]);
    expect(hexes(t.children(blocks[1]!.hash))).toEqual([toHex(blocks[2]!.hash)]);
    expect(t.children(blocks[4]!.hash)).toEqual([]);
  });

  it("looks blocks up by bytes or hex of either case and copies the caller's hashes", () => {
    const t = newTree();
    const b = child(GENESIS, 0xab);
    t.add(b);
    const hex = toHex(b.hash);
    expect(t.get(hex)).toBe(t.get(b.hash));
    expect(t.get(hex.toUpperCase())).toBe(t.get(b.hash));
    expect(t.has(b.hash)).toBe(true);
    expect(t.has(hashOf(1, 999))).toBe(false);
    expect(t.get(hashOf(1, 999))).toBeUndefined();
    b.hash[0] = 0; // the tree must not see this
    expect(t.get(hex)?.hash[0]).toBe(0xab);
    expect(Object.isFrozen(t.get(hex))).toBe(true);
  });

  it("breaks a height tie by the lowest hash, whatever the arrival order", () => {
    const low = child(GENESIS, 0x10);
    const high = child(GENESIS, 0x20);

    const a = newTree();
    expect(a.add(high).headChanged).toBe(true);
    const r = a.add(low);
    expect(r.headChanged).toBe(true);
    expect(r.reorg?.depth).toBe(1);
    expect(hexes(r.reorg?.removed ?? [])).toEqual([toHex(high.hash)]);
    expect(hexes(r.reorg?.added ?? [])).toEqual([toHex(low.hash)]);
    expect(a.head().hashHex).toBe(toHex(low.hash));

    const b = newTree();
    b.add(low);
    const r2 = b.add(high);
    expect(r2).toEqual({ added: true, headChanged: false, head: b.get(low.hash) });
    expect(b.head().hashHex).toBe(toHex(low.hash));
    expect(hexes(b.tips())).toEqual([toHex(low.hash), toHex(high.hash)]);
  });

  it("prefers the deeper branch over a lower hash", () => {
    const t = newTree();
    const [a1] = chain(GENESIS, 1, 0x01);
    t.add(a1!);
    const bs = chain(GENESIS, 2, 0xff);
    expect(t.add(bs[0]!).headChanged).toBe(false);
    const r = t.add(bs[1]!);
    expect(r.headChanged).toBe(true);
    expect(t.head().hashHex).toBe(toHex(bs[1]!.hash));
  });

  it("reports reorg details: removed, added, depth and common ancestor", () => {
    const t = newTree();
    const trunk = chain(GENESIS, 2);
    const oldBranch = chain(trunk[1]!, 3, 0x50);
    const newBranch = chain(trunk[1]!, 4, 0x60);
    for (const b of [...trunk, ...oldBranch]) t.add(b);
    expect(t.head().hashHex).toBe(toHex(oldBranch[2]!.hash));

    // Equal height but higher hash: no head change yet.
    for (const b of newBranch.slice(0, 3)) expect(t.add(b).headChanged).toBe(false);
    const r = t.add(newBranch[3]!);
    expect(r.headChanged).toBe(true);
    const reorg = r.reorg!;
    expect(reorg.oldHead.hashHex).toBe(toHex(oldBranch[2]!.hash));
    expect(reorg.newHead.hashHex).toBe(toHex(newBranch[3]!.hash));
    expect(reorg.commonAncestor.hashHex).toBe(toHex(trunk[1]!.hash));
    expect(reorg.depth).toBe(3);
    expect(hexes(reorg.removed)).toEqual(oldBranch.map((b) => toHex(b.hash)).reverse());
    expect(hexes(reorg.added)).toEqual(newBranch.map((b) => toHex(b.hash)));
    expect(reorg.added.map((n) => n.state)).toEqual(newBranch.map((b) => b.state));

    // Extending the new head is not a reorg.
    const ext = child(newBranch[3]!);
    const r2 = t.add(ext);
    expect(r2.headChanged).toBe(true);
    expect(r2.reorg).toBeUndefined();
  });

  it("reorgs onto a tie-losing sibling's child with depth 1", () => {
    const t = newTree();
    const winner = child(GENESIS, 0x10);
    const loser = child(GENESIS, 0x20);
    t.add(winner);
    t.add(loser);
    const grand = child(loser);
    const r = t.add(grand);
    expect(r.reorg?.depth).toBe(1);
    expect(r.reorg?.commonAncestor.hashHex).toBe(toHex(GENESIS));
    expect(hexes(r.reorg?.removed ?? [])).toEqual([toHex(winner.hash)]);
    expect(hexes(r.reorg?.added ?? [])).toEqual([toHex(loser.hash), toHex(grand.hash)]);
  });

  it("keeps canonicalAt and isCanonical right across reorgs back and forth", () => {
    const t = newTree();
    const trunk = chain(GENESIS, 3);
    const a = chain(trunk[2]!, 2, 0x40);
    const b = chain(trunk[2]!, 3, 0x50);
    for (const x of [...trunk, ...a]) t.add(x);
    expect(t.canonicalAt(5)?.hashHex).toBe(toHex(a[1]!.hash));
    for (const x of b) t.add(x);
    expect(hexes([4, 5, 6].map((h) => t.canonicalAt(h)!))).toEqual(b.map((x) => toHex(x.hash)));
    expect(t.isCanonical(a[0]!.hash)).toBe(false);
    expect(t.isCanonical(b[0]!.hash)).toBe(true);
    // Branch a overtakes again.
    const a2 = chain(a[1]!, 2, 0x40);
    for (const x of a2) t.add(x);
    expect(hexes([4, 5, 6, 7].map((h) => t.canonicalAt(h)!))).toEqual(
      [...a, ...a2].map((x) => toHex(x.hash)),
    );
    expect(t.canonicalAt(3)?.hashHex).toBe(toHex(trunk[2]!.hash));
    expect(t.canonicalAt(8)).toBeUndefined();
    expect(t.isCanonical(b[2]!.hash)).toBe(false);
  });

  it("answers ancestorAt, commonAncestor and branch", () => {
    const t = newTree();
    const trunk = chain(GENESIS, 2);
    const a = chain(trunk[1]!, 3, 0x40);
    const b = chain(trunk[1]!, 2, 0x50);
    for (const x of [...trunk, ...a, ...b]) t.add(x);

    expect(t.ancestorAt(b[1]!.hash, 3)?.hashHex).toBe(toHex(b[0]!.hash));
    expect(t.ancestorAt(b[1]!.hash, 1)?.hashHex).toBe(toHex(trunk[0]!.hash));
    expect(t.ancestorAt(b[1]!.hash, 4)?.hashHex).toBe(toHex(b[1]!.hash));
    expect(t.ancestorAt(b[1]!.hash, 5)).toBeUndefined();
    expect(t.ancestorAt(b[1]!.hash, -1)).toBeUndefined();
    expect(t.ancestorAt(hashOf(9, 9999), 0)).toBeUndefined();
    expect(t.ancestorAt(a[2]!.hash, 0)?.hashHex).toBe(toHex(GENESIS));

    expect(t.commonAncestor(a[2]!.hash, b[1]!.hash)?.hashHex).toBe(toHex(trunk[1]!.hash));
    expect(t.commonAncestor(a[0]!.hash, a[2]!.hash)?.hashHex).toBe(toHex(a[0]!.hash));
    expect(t.commonAncestor(b[0]!.hash, b[0]!.hash)?.hashHex).toBe(toHex(b[0]!.hash));
    expect(t.commonAncestor(b[0]!.hash, hashOf(9, 9999))).toBeUndefined();

    expect(hexes(t.branch(trunk[1]!.hash, b[1]!.hash)!)).toEqual(b.map((x) => toHex(x.hash)));
    expect(t.branch(b[1]!.hash, b[1]!.hash)).toEqual([]);
    expect(t.branch(a[0]!.hash, b[1]!.hash)).toBeUndefined();
    expect(t.branch(b[1]!.hash, trunk[0]!.hash)).toBeUndefined();
    // Crossing branches: roll back to the common ancestor, then apply its branch.
    const anc = t.commonAncestor(a[2]!.hash, b[1]!.hash)!;
    expect(t.branch(anc.hash, b[1]!.hash)?.map((n) => n.state)).toEqual(b.map((x) => x.state));
  });

  it("treats a duplicate as a no-op", () => {
    const t = newTree();
    const [b1, b2] = chain(GENESIS, 2);
    t.add(b1!);
    t.add(b2!);
    const before = t.head();
    expect(t.add(b1!)).toEqual({ added: false, headChanged: false, head: before });
    expect(t.add({ ...b2!, state: { label: "other" } })).toEqual({
      added: false,
      headChanged: false,
      head: before,
    });
    expect(
      t.add({ hash: GENESIS, parentHash: GENESIS, height: 0, slot: 0, state: { label: "x" } }).added,
    ).toBe(false);
    expect(t.size).toBe(3);
    expect(t.get(b2!.hash)?.state).toEqual(b2!.state);
  });

  it("ignores a block with an unknown parent", () => {
    const t = newTree();
    const [b1, b2] = chain(GENESIS, 2);
    t.add(b1!);
    const orphan = child(b2!);
    const err = catchError(() => t.add(orphan));
    expect(err.code).toBe(ForkChoiceErrorCode.UNKNOWN_PARENT);
    expect(err.verdict).toBe("ignore");
    expect(err.name).toBe("ForkChoiceError");
    expect(err.meta.parent).toBe(toHex(b2!.hash));
    expect(t.has(orphan.hash)).toBe(false);
    // Once the parent arrives the orphan attaches.
    t.add(b2!);
    expect(t.add(orphan).headChanged).toBe(true);
  });

  it("rejects a broken height or slot link", () => {
    const t = newTree();
    const b1 = child(GENESIS);
    t.add(b1);
    const wrongHeight = { ...child(b1), height: 5 };
    const e1 = catchError(() => t.add(wrongHeight));
    expect(e1.code).toBe(ForkChoiceErrorCode.BAD_HEIGHT);
    expect(e1.verdict).toBe("reject");
    const sameSlot = { ...child(b1), slot: b1.slot };
    const e2 = catchError(() => t.add(sameSlot));
    expect(e2.code).toBe(ForkChoiceErrorCode.BAD_SLOT);
    expect(e2.verdict).toBe("reject");
    const shortHash = { ...child(b1), hash: new Uint8Array(31) };
    expect(catchError(() => t.add(shortHash)).code).toBe(ForkChoiceErrorCode.INVALID_NODE);
    const badSlot = { ...child(b1), slot: -1 };
    expect(catchError(() => t.add(badSlot)).verdict).toBe("reject");
    expect(t.size).toBe(2);
    // A slot gap is fine: empty slots happen.
    expect(t.add(child(b1, 0x80, 7)).added).toBe(true);
  });

  it("ignores a block that would attach at or below the root", () => {
    const t = newTree();
    const e = catchError(() => t.add({ ...child(GENESIS), parentHash: hashOf(5, 5000) }));
    expect(e.code).toBe(ForkChoiceErrorCode.PRUNED_PARENT);
    expect(e.verdict).toBe("ignore");
  });

  it("prunes: keeps the head chain, drops old side branches, moves the root", () => {
    const t = newTree();
    const trunk = chain(GENESIS, 10);
    for (const b of trunk) t.add(b);
    const oldSide = chain(trunk[1]!, 6, 0xf0); // forks at height 2, reaches height 8
    const newSide = chain(trunk[7]!, 1, 0xf0); // forks at height 8
    for (const b of [...oldSide, ...newSide]) t.add(b);
    expect(t.size).toBe(18);
    const head = t.head();

    const r = t.prune(3); // new root at height 7
    expect(r.root.hashHex).toBe(toHex(trunk[6]!.hash));
    expect(t.root()).toBe(r.root);
    expect(t.head()).toBe(head);
    expect(hexes(r.finalized)).toEqual([GENESIS, ...trunk.slice(0, 6).map((b) => b.hash)].map(toHex));
    expect(hexes(r.discarded)).toEqual(oldSide.map((b) => toHex(b.hash)));
    expect(t.size).toBe(5);

    for (const b of oldSide) expect(t.get(b.hash)).toBeUndefined();
    expect(t.get(GENESIS)).toBeUndefined();
    expect(t.get(trunk[5]!.hash)).toBeUndefined();
    expect(t.has(newSide[0]!.hash)).toBe(true);
    expect(t.canonicalAt(6)).toBeUndefined();
    expect(t.canonicalAt(7)?.hashHex).toBe(toHex(trunk[6]!.hash));
    expect(t.canonicalAt(10)).toBe(head);
    expect(t.ancestorAt(head.hash, 6)).toBeUndefined();
    expect(t.commonAncestor(head.hash, newSide[0]!.hash)?.hashHex).toBe(toHex(trunk[7]!.hash));
    expect(hexes(t.tips())).toEqual([head.hashHex, toHex(newSide[0]!.hash)]);

    // Extending a dropped branch: its parent is gone. Forking below the root: final, refused.
    expect(catchError(() => t.add(child(oldSide[5]!))).code).toBe(ForkChoiceErrorCode.UNKNOWN_PARENT);
    const below = child(trunk[5]!, 0x01);
    expect(catchError(() => t.add(below)).code).toBe(ForkChoiceErrorCode.PRUNED_PARENT);
    // A re-gossiped finalized block is refused harmlessly.
    expect(catchError(() => t.add(trunk[3]!)).verdict).toBe("ignore");

    // Pruning again at the same depth does nothing; extending still works.
    expect(t.prune(3)).toEqual({ root: r.root, finalized: [], discarded: [] });
    expect(t.add(child(trunk[9]!)).headChanged).toBe(true);
    expect(() => t.prune(-1)).toThrow(RangeError);
  });

  it("auto-prunes after each add when asked", () => {
    const t = newTree(2);
    const blocks = chain(GENESIS, 6);
    const side = child(GENESIS, 0xf0);
    t.add(blocks[0]!);
    t.add(side);
    t.add(blocks[1]!);
    expect(t.size).toBe(4);
    const r = t.add(blocks[2]!);
    expect(hexes(r.pruned?.finalized ?? [])).toEqual([toHex(GENESIS)]);
    expect(hexes(r.pruned?.discarded ?? [])).toEqual([toHex(side.hash)]);
    for (const b of blocks.slice(3)) t.add(b);
    expect(t.size).toBe(3);
    expect(t.root().height).toBe(4);
    expect(t.head().height).toBe(6);
    expect(() => newTree(1.5)).toThrow(RangeError);
  });

  it("can start from a later root", () => {
    const rootHash = hashOf(3, 3);
    const t = createForkChoice<string>({ root: { hash: rootHash, height: 100, slot: 250, state: "s" } });
    expect(t.canonicalAt(100)?.slot).toBe(250);
    expect(t.head().block).toBeUndefined();
    expect("block" in t.head()).toBe(false);
    const next = { hash: hashOf(4, 4), parentHash: rootHash, height: 101, slot: 251, state: "t" };
    expect(t.add(next).headChanged).toBe(true);
    expect(catchError(() => t.add({ ...next, hash: hashOf(4, 5), parentHash: hashOf(4, 6) })).code).toBe(
      ForkChoiceErrorCode.PRUNED_PARENT,
    );
    expect(
      catchError(() => t.add({ ...next, hash: hashOf(4, 5), parentHash: hashOf(4, 6), height: 102 })).code,
    ).toBe(ForkChoiceErrorCode.UNKNOWN_PARENT);
  });
});

// ---- property tests -------------------------------------------------------------------------------

/** A random tree: node i > 0 hangs under an earlier node; hashes random but unique. */
const treeArb = fc
  .array(
    fc.record({
      parentPick: fc.nat(),
      // A narrow first byte makes height ties with a decisive hash comparison frequent.
      order: fc.integer({ min: 0, max: 3 }),
      noise: fc.uint8Array({ minLength: 4, maxLength: 4 }),
      slotGap: fc.integer({ min: 1, max: 3 }),
    }),
    { minLength: 1, maxLength: 40 },
  )
  .map((specs) => {
    const nodes: Input[] = [];
    for (const [i, s] of specs.entries()) {
      const id = i + 1;
      const parentIndex = s.parentPick % (i + 1); // 0 = genesis
      const parent = parentIndex === 0 ? undefined : nodes[parentIndex - 1]!;
      const hash = hashOf(s.order, id);
      hash.set(s.noise, 1);
      nodes.push({
        hash,
        parentHash: parent?.hash ?? GENESIS,
        height: (parent?.height ?? 0) + 1,
        slot: (parent?.slot ?? 0) + s.slotGap,
        state: { label: `s${id}` },
      });
    }
    return nodes;
  });

/** A random order of `nodes` in which every parent comes before its children. */
function topoOrder(nodes: readonly Input[], picks: readonly number[]): Input[] {
  const known = new Set([toHex(GENESIS)]);
  const pending = [...nodes];
  const out: Input[] = [];
  for (let step = 0; pending.length > 0; step++) {
    const ready = pending.filter((n) => known.has(toHex(n.parentHash)));
    const pick = ready[(picks[step % picks.length] ?? 0) % ready.length]!;
    out.push(pick);
    known.add(toHex(pick.hash));
    pending.splice(pending.indexOf(pick), 1);
  }
  return out;
}

const picksArb = fc.array(fc.nat(), { minLength: 1, maxLength: 50 });

/** Brute force: the best of all nodes by max height, then min hash. */
function bruteHead(nodes: readonly { hash: Uint8Array; height: number }[]): string {
  let best = { hash: GENESIS, height: 0 };
  for (const n of nodes) {
    if (n.height > best.height || (n.height === best.height && compareBytes(n.hash, best.hash) < 0)) best = n;
  }
  return toHex(best.hash);
}

/** The head chain by walking parents from the head, indexed by height. */
function walkChain(t: ForkChoice<State, string>): string[] {
  const out: string[] = [];
  for (let n = t.get(t.head().hash); n !== undefined; n = t.get(n.parentHash)) out[n.height] = n.hashHex;
  return out;
}

describe("fork choice properties", () => {
  it("head and canonical index match brute force; reorg lists replay the head chain", () => {
    fc.assert(
      fc.property(treeArb, picksArb, (nodes, picks) => {
        const t = newTree();
        const added: Input[] = [];
        let model = [toHex(GENESIS)]; // the head chain replayed from add results alone
        for (const n of topoOrder(nodes, picks)) {
          const oldHead = t.head().hashHex;
          const r = t.add(n);
          added.push(n);
          expect(r.added).toBe(true);
          expect(t.head().hashHex).toBe(bruteHead(added));
          expect(r.headChanged).toBe(t.head().hashHex !== oldHead);
          if (r.reorg !== undefined) {
            const { removed, added: applied, commonAncestor, depth } = r.reorg;
            expect(depth).toBe(removed.length);
            expect(depth).toBeGreaterThan(0);
            expect(hexes(removed)).toEqual(model.slice(commonAncestor.height + 1).reverse());
            expect(model[commonAncestor.height]).toBe(commonAncestor.hashHex);
            model = [...model.slice(0, commonAncestor.height + 1), ...hexes(applied)];
          } else if (r.headChanged) {
            expect(toHex(n.parentHash)).toBe(model[model.length - 1]);
            model.push(toHex(n.hash));
          }
          expect(model.at(-1)).toBe(t.head().hashHex);
        }
        const walked = walkChain(t);
        expect(model).toEqual(walked);
        for (let h = 0; h <= t.head().height; h++) expect(t.canonicalAt(h)?.hashHex).toBe(walked[h]);
        expect(t.canonicalAt(t.head().height + 1)).toBeUndefined();
        expect(t.size).toBe(nodes.length + 1);
        // Tips: exactly the nodes nobody names as parent, and the head comes first.
        const parents = new Set(nodes.map((n) => toHex(n.parentHash)));
        const tipSet = [toHex(GENESIS), ...nodes.map((n) => toHex(n.hash))].filter((h) => !parents.has(h));
        expect(new Set(hexes(t.tips()))).toEqual(new Set(tipSet));
        expect(t.tips()[0]?.hashHex).toBe(t.head().hashHex);
      }),
      { numRuns: 300 },
    );
  });

  it("ancestorAt and commonAncestor match parent walks", () => {
    fc.assert(
      fc.property(treeArb, picksArb, fc.nat(), fc.nat(), (nodes, picks, ia, ib) => {
        const t = newTree();
        for (const n of topoOrder(nodes, picks)) t.add(n);
        const all = [GENESIS, ...nodes.map((n) => n.hash)];
        const a = t.get(all[ia % all.length]!)!;
        const b = t.get(all[ib % all.length]!)!;
        const path = (x: typeof a): string[] => {
          const out: string[] = [];
          for (let n = t.get(x.hash); n !== undefined; n = t.get(n.parentHash)) out[n.height] = n.hashHex;
          return out;
        };
        const pa = path(a);
        const pb = path(b);
        for (let h = 0; h <= a.height; h++) expect(t.ancestorAt(a.hash, h)?.hashHex).toBe(pa[h]);
        let common = 0;
        while (common + 1 < Math.min(pa.length, pb.length) && pa[common + 1] === pb[common + 1]) common++;
        expect(t.commonAncestor(a.hash, b.hash)?.hashHex).toBe(pa[common]);
        const br = t.branch(pa[common]!, b.hash);
        expect(br && hexes(br)).toEqual(pb.slice(common + 1));
      }),
      { numRuns: 200 },
    );
  });

  it("converges: any parent-first order of the same blocks gives the same head and chain", () => {
    fc.assert(
      fc.property(treeArb, picksArb, picksArb, (nodes, p1, p2) => {
        const a = newTree();
        const b = newTree();
        for (const n of topoOrder(nodes, p1)) a.add(n);
        for (const n of topoOrder(nodes, p2)) b.add(n);
        expect(a.head().hashHex).toBe(b.head().hashHex);
        expect(walkChain(a)).toEqual(walkChain(b));
      }),
      { numRuns: 200 },
    );
  });

  it("pruning keeps exactly the new root's subtree and the head chain above it", () => {
    fc.assert(
      fc.property(treeArb, picksArb, fc.integer({ min: 0, max: 6 }), (nodes, picks, keep) => {
        const t = newTree();
        for (const n of topoOrder(nodes, picks)) t.add(n);
        const head = t.head();
        const before = walkChain(t);
        const r = t.prune(keep);
        const rootHeight = Math.max(0, head.height - keep);
        expect(r.root.hashHex).toBe(before[rootHeight]);
        expect(t.head()).toBe(head);
        expect(r.finalized.length).toBe(rootHeight);
        // Kept: exactly the blocks whose ancestor at the root height is the root.
        const descends = (n: Input): boolean => {
          let cur: Input | undefined = n;
          const byHex = new Map(nodes.map((x) => [toHex(x.hash), x]));
          while (cur !== undefined && cur.height > rootHeight) cur = byHex.get(toHex(cur.parentHash));
          const hex = cur === undefined ? toHex(GENESIS) : toHex(cur.hash);
          return hex === r.root.hashHex;
        };
        const kept = nodes.filter((n) => n.height >= rootHeight && descends(n));
        expect(t.size).toBe(kept.length + (rootHeight === 0 ? 1 : 0));
        for (const n of nodes) expect(t.has(n.hash)).toBe(kept.includes(n));
        expect(r.finalized.length + r.discarded.length + t.size).toBe(nodes.length + 1);
        for (let h = 0; h <= head.height; h++) {
          expect(t.canonicalAt(h)?.hashHex).toBe(h < rootHeight ? undefined : before[h]);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("auto-pruning keeps the head equal to the best block held and the root at the depth", () => {
    fc.assert(
      fc.property(treeArb, picksArb, fc.integer({ min: 0, max: 4 }), (nodes, picks, depth) => {
        const t = newTree(depth);
        const accepted: Input[] = [];
        for (const n of topoOrder(nodes, picks)) {
          try {
            t.add(n);
            accepted.push(n);
          } catch (err) {
            // Only blocks whose ancestry pruning dropped may be refused, and never as "reject".
            expect(err).toBeInstanceOf(ForkChoiceError);
            expect((err as ForkChoiceError).verdict).toBe("ignore");
          }
          const held = accepted.filter((x) => t.has(x.hash));
          const best = bruteHead([t.root(), ...held]);
          expect(t.head().hashHex).toBe(best);
          expect(t.root().height).toBe(Math.max(0, t.head().height - depth));
        }
      }),
      { numRuns: 200 },
    );
  });
});
