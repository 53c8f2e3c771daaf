/**
 * Fork choice: the tree of valid blocks whose ancestry is known, and the head picked from it.
 *
 * Head rule: the tip with the greatest height; ties go to the lowest block hash (bytewise), so every node
 * that holds the same blocks picks the same head whatever order they arrived in.
 *
 * The tree is generic over the post-state `S` (and the caller's block object `B`), so it knows nothing
 * of the state transition: the caller validates a block against its parent's state, then `add`s it with
 * its post-state. On a head change the caller switches to `head().state`; `reorg` lists the blocks rolled
 * back and applied, for anything that must follow (mempool, indexes, events).
 *
 * Pruning moves the root up the head's chain and forgets everything that does not descend from it: the
 * root is then final, and blocks that would fork below it are refused with `PRUNED_PARENT`.
 */

import { compareBytes, toHex } from "./bytes.js";
import { ForkChoiceError, ForkChoiceErrorCode } from "./forkChoiceError.js";
import type { Hash } from "./types.js";

/** A block in the tree with its post-state. Frozen; the hashes are copies owned by the tree. */
export interface ForkNode<S, B = unknown> {
  readonly hash: Hash;
  /** Lower-case hex of `hash`, the key of every lookup. */
  readonly hashHex: string;
  readonly parentHash: Hash;
  readonly height: number;
  readonly slot: number;
  /** State after applying the block. */
  readonly state: S;
  /** The caller's block object, if it gave one. */
  readonly block?: B;
}

/** What `add` takes: a validated block's link fields and post-state. */
export interface ForkNodeInput<S, B = unknown> {
  readonly hash: Hash;
  readonly parentHash: Hash;
  readonly height: number;
  readonly slot: number;
  readonly state: S;
  readonly block?: B;
}

/**
 * The root the tree starts from: normally genesis (height 0, slot 0, zero parent hash), but a node that
 * restarts from its store may start from a later, final block.
 */
export interface ForkRootInput<S, B = unknown> {
  readonly hash: Hash;
  readonly state: S;
  /** Default 0. */
  readonly height?: number;
  /** Default 0. */
  readonly slot?: number;
  /** Default 32 zero bytes. */
  readonly parentHash?: Hash;
  readonly block?: B;
}

export interface ForkChoiceOptions<S, B = unknown> {
  readonly root: ForkRootInput<S, B>;
  /**
   * When set, `prune(autoPruneDepth)` runs after every successful `add`, which bounds the tree (and the
   * states it holds) and makes reorgs deeper than this impossible. Default: never prune on its own.
   */
  readonly autoPruneDepth?: number;
}

/** A head change that is not a plain extension of the old head. */
export interface Reorg<S, B = unknown> {
  readonly oldHead: ForkNode<S, B>;
  readonly newHead: ForkNode<S, B>;
  /** Last block shared by the old and the new head chain. */
  readonly commonAncestor: ForkNode<S, B>;
  /** Number of blocks rolled back: `oldHead.height - commonAncestor.height` (at least 1). */
  readonly depth: number;
  /** Old-branch blocks from the old head down to the ancestor (exclusive), in descending height. */
  readonly removed: readonly ForkNode<S, B>[];
  /** New-branch blocks from the ancestor (exclusive) up to the new head, in ascending height. */
  readonly added: readonly ForkNode<S, B>[];
}

/** What pruning dropped. Dropped blocks are gone from the tree: `get` returns undefined for them. */
export interface PruneResult<S, B = unknown> {
  /** The root after pruning. */
  readonly root: ForkNode<S, B>;
  /** Head-chain blocks below the new root, now final, in ascending height. */
  readonly finalized: readonly ForkNode<S, B>[];
  /** Blocks on branches that forked below the new root, by ascending height then hash. */
  readonly discarded: readonly ForkNode<S, B>[];
}

/** Outcome of `add`. */
export interface AddResult<S, B = unknown> {
  /** False when the block was already in the tree (a no-op). */
  readonly added: boolean;
  readonly headChanged: boolean;
  /** The head after the call. */
  readonly head: ForkNode<S, B>;
  /** Present when the head moved to a block that is not a child of the old head. */
  readonly reorg?: Reorg<S, B>;
  /** Present when `autoPruneDepth` dropped blocks after this add. */
  readonly pruned?: PruneResult<S, B>;
}

/** A block hash as bytes or as lower- or upper-case hex. */
export type HashRef = Hash | string;

/** The fork-choice tree. Every query on an unknown (or pruned) hash returns undefined, never throws. */
export interface ForkChoice<S, B = unknown> {
  /** Number of blocks held, the root included. */
  readonly size: number;
  /** The oldest block held; every other block descends from it. */
  root(): ForkNode<S, B>;
  head(): ForkNode<S, B>;
  /**
   * Adds a block whose parent is in the tree. Throws `ForkChoiceError` (UNKNOWN_PARENT and PRUNED_PARENT
   * are `ignore`, the rest `reject`); a duplicate returns `added: false` and changes nothing.
   */
  add(node: ForkNodeInput<S, B>): AddResult<S, B>;
  get(hash: HashRef): ForkNode<S, B> | undefined;
  has(hash: HashRef): boolean;
  /** Children of a block in insertion order; empty for a tip or an unknown hash. */
  children(hash: HashRef): ForkNode<S, B>[];
  /** Blocks without children, best first by the head rule (so `tips()[0]` is the head). */
  tips(): ForkNode<S, B>[];
  /** True when the block is on the head's chain. */
  isCanonical(hash: HashRef): boolean;
  /** The block on the head's chain at `height`, in O(1); undefined below the root or above the head. */
  canonicalAt(height: number): ForkNode<S, B> | undefined;
  /** The ancestor of a block at `height` (the block itself at its own height). */
  ancestorAt(hash: HashRef, height: number): ForkNode<S, B> | undefined;
  /** The highest block that is an ancestor of both (a block is its own ancestor). */
  commonAncestor(a: HashRef, b: HashRef): ForkNode<S, B> | undefined;
  /**
   * The blocks after `from` up to and including `to`, in ascending height: what to apply, with their
   * states, to move from `from` to its descendant `to`. Empty when they are equal; undefined when `from`
   * is not an ancestor of `to`. To cross branches, go through `commonAncestor`.
   */
  branch(from: HashRef, to: HashRef): ForkNode<S, B>[] | undefined;
  /**
   * Makes the head-chain block `keepDepth` below the head the new root and forgets every block that does
   * not descend from it: the head chain below it and every branch forking below it, however high that
   * branch reaches. No-op when the root is already that high. The caller keeps history in its store.
   */
  prune(keepDepth: number): PruneResult<S, B>;
}

const HASH_BYTES = 32;

/** Internal tree entry: the public node plus links the public record does not expose. */
interface Entry<S, B> {
  readonly node: ForkNode<S, B>;
  parent: Entry<S, B> | undefined;
  readonly children: Entry<S, B>[];
}

/** True when `a` beats `b` by the head rule. */
/**
 * The head rule: true when a block `a` beats `b` as head (the greater height; at equal heights, the
 * lower hash). Exported so a caller can tell whether adding a block will move the head before it does.
 */
export function isBetterHead(
  a: { readonly height: number; readonly hash: Hash },
  b: { readonly height: number; readonly hash: Hash },
): boolean {
  return a.height > b.height || (a.height === b.height && compareBytes(a.hash, b.hash) < 0);
}

function better(a: ForkNode<unknown, unknown>, b: ForkNode<unknown, unknown>): boolean {
  return isBetterHead(a, b);
}

function isHash(value: unknown): value is Hash {
  return value instanceof Uint8Array && value.length === HASH_BYTES;
}

function isHeight(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function checkDepth(what: string, value: number): void {
  if (!isHeight(value)) throw new RangeError(`${what} must be a non-negative safe integer, got ${value}`);
}

function keyOf(ref: HashRef): string {
  return typeof ref === "string" ? ref.toLowerCase() : toHex(ref);
}

/** Validates the shape of a node and freezes a copy, so later edits by the caller cannot corrupt the tree. */
function makeNode<S, B>(input: ForkNodeInput<S, B>): ForkNode<S, B> {
  if (!isHash(input.hash) || !isHash(input.parentHash) || !isHeight(input.height) || !isHeight(input.slot)) {
    throw new ForkChoiceError(
      ForkChoiceErrorCode.INVALID_NODE,
      "fork choice: a node needs 32-byte hash and parent hash and non-negative safe-integer height and slot",
      { height: input.height, slot: input.slot },
    );
  }
  const hash = new Uint8Array(input.hash);
  const base = {
    hash,
    hashHex: toHex(hash),
    parentHash: new Uint8Array(input.parentHash),
    height: input.height,
    slot: input.slot,
    state: input.state,
  };
  return Object.freeze(input.block === undefined ? base : { ...base, block: input.block });
}

/** Creates a fork-choice tree holding only `options.root`, which is also the head. */
export function createForkChoice<S, B = unknown>(options: ForkChoiceOptions<S, B>): ForkChoice<S, B> {
  const { root: rootInput, autoPruneDepth } = options;
  if (autoPruneDepth !== undefined) checkDepth("autoPruneDepth", autoPruneDepth);

  const rootNode = makeNode<S, B>({
    hash: rootInput.hash,
    parentHash: rootInput.parentHash ?? new Uint8Array(HASH_BYTES),
    height: rootInput.height ?? 0,
    slot: rootInput.slot ?? 0,
    state: rootInput.state,
    ...(rootInput.block === undefined ? {} : { block: rootInput.block }),
  });

  let root: Entry<S, B> = { node: rootNode, parent: undefined, children: [] };
  let head = root;
  const entries = new Map<string, Entry<S, B>>([[rootNode.hashHex, root]]);
  const tips = new Set<Entry<S, B>>([root]);
  // The head chain by height, root to head. A Map rather than an array indexed by height so pruning
  // actually frees the slots below the root instead of leaving an ever-growing sparse array.
  const canonical = new Map<number, Entry<S, B>>([[rootNode.height, root]]);

  const lookup = (ref: HashRef): Entry<S, B> | undefined => entries.get(keyOf(ref));
  const onHeadChain = (e: Entry<S, B>): boolean => canonical.get(e.node.height) === e;

  function ancestorEntry(e: Entry<S, B>, height: number): Entry<S, B> | undefined {
    if (height > e.node.height || height < root.node.height) return undefined;
    let cur = e;
    // Walk only until the head chain is reached; from there the index answers directly.
    while (cur.node.height > height && !onHeadChain(cur)) {
      cur = cur.parent!;
    }
    return cur.node.height === height ? cur : canonical.get(height);
  }

  function commonEntry(a: Entry<S, B>, b: Entry<S, B>): Entry<S, B> {
    const height = Math.min(a.node.height, b.node.height);
    let x = ancestorEntry(a, height)!;
    let y = ancestorEntry(b, height)!;
    // Both descend from the root, so the lockstep walk meets there at the latest; it only runs along
    // side branches, since two head-chain blocks at one height are the same block.
    while (x !== y) {
      x = x.parent!;
      y = y.parent!;
    }
    return x;
  }

  /** Moves the head to `next` and updates the head-chain index; returns the reorg if not an extension. */
  function setHead(next: Entry<S, B>): Reorg<S, B> | undefined {
    const old = head;
    head = next;
    if (next.parent === old) {
      canonical.set(next.node.height, next);
      return undefined;
    }
    const addedEntries: Entry<S, B>[] = [];
    let cur = next;
    while (!onHeadChain(cur)) {
      addedEntries.push(cur);
      cur = cur.parent!;
    }
    const ancestor = cur;
    const removed: ForkNode<S, B>[] = [];
    for (let h = old.node.height; h > ancestor.node.height; h--) {
      removed.push(canonical.get(h)!.node);
      canonical.delete(h);
    }
    addedEntries.reverse();
    for (const e of addedEntries) canonical.set(e.node.height, e);
    return {
      oldHead: old.node,
      newHead: next.node,
      commonAncestor: ancestor.node,
      depth: removed.length,
      removed,
      added: addedEntries.map((e) => e.node),
    };
  }

  function prune(keepDepth: number): PruneResult<S, B> {
    checkDepth("keepDepth", keepDepth);
    const target = head.node.height - keepDepth;
    if (target <= root.node.height) return { root: root.node, finalized: [], discarded: [] };
    const newRoot = canonical.get(target)!;

    // Everything outside the new root's subtree goes, so visit exactly that: O(blocks dropped).
    const discarded: ForkNode<S, B>[] = [];
    const stack: Entry<S, B>[] = [root];
    for (let e = stack.pop(); e !== undefined; e = stack.pop()) {
      if (e === newRoot) continue;
      entries.delete(e.node.hashHex);
      tips.delete(e);
      if (!onHeadChain(e)) discarded.push(e.node);
      for (const c of e.children) stack.push(c);
    }
    const finalized: ForkNode<S, B>[] = [];
    for (let h = root.node.height; h < target; h++) {
      finalized.push(canonical.get(h)!.node);
      canonical.delete(h);
    }
    discarded.sort((a, b) => a.height - b.height || compareBytes(a.hash, b.hash));
    newRoot.parent = undefined;
    root = newRoot;
    return { root: root.node, finalized, discarded };
  }

  function add(input: ForkNodeInput<S, B>): AddResult<S, B> {
    const node = makeNode(input);
    if (entries.has(node.hashHex)) return { added: false, headChanged: false, head: head.node };

    const parent = entries.get(toHex(node.parentHash));
    if (parent === undefined) {
      const meta = { hash: node.hashHex, parent: toHex(node.parentHash), height: node.height };
      // The only block held at the root's height is the root, so a missing parent at or below it can
      // never turn up: it was pruned, or the block is from another chain. Fetching it would be wasted.
      if (node.height <= root.node.height + 1) {
        throw new ForkChoiceError(
          ForkChoiceErrorCode.PRUNED_PARENT,
          `fork choice: block ${node.hashHex} at height ${node.height} attaches at or below the root (height ${root.node.height})`,
          { ...meta, rootHeight: root.node.height },
        );
      }
      throw new ForkChoiceError(
        ForkChoiceErrorCode.UNKNOWN_PARENT,
        `fork choice: parent ${meta.parent} of block ${node.hashHex} is unknown`,
        meta,
      );
    }
    if (node.height !== parent.node.height + 1) {
      throw new ForkChoiceError(
        ForkChoiceErrorCode.BAD_HEIGHT,
        `fork choice: block ${node.hashHex} has height ${node.height}, parent has ${parent.node.height}`,
        { hash: node.hashHex, height: node.height, parentHeight: parent.node.height },
      );
    }
    if (node.slot <= parent.node.slot) {
      throw new ForkChoiceError(
        ForkChoiceErrorCode.BAD_SLOT,
        `fork choice: block ${node.hashHex} has slot ${node.slot}, not after its parent's ${parent.node.slot}`,
        { hash: node.hashHex, slot: node.slot, parentSlot: parent.node.slot },
      );
    }

    const entry: Entry<S, B> = { node, parent, children: [] };
    entries.set(node.hashHex, entry);
    parent.children.push(entry);
    tips.delete(parent);
    tips.add(entry);

    // The head is the best of all blocks, and the only block that can beat it now is the new one:
    // one comparison keeps it current.
    const headChanged = better(node, head.node);
    const reorg = headChanged ? setHead(entry) : undefined;
    const pruned = autoPruneDepth === undefined ? undefined : prune(autoPruneDepth);
    return {
      added: true,
      headChanged,
      head: head.node,
      ...(reorg === undefined ? {} : { reorg }),
      ...(pruned === undefined || (pruned.finalized.length === 0 && pruned.discarded.length === 0)
        ? {}
        : { pruned }),
    };
  }

  return {
    get size() {
      return entries.size;
    },
    root: () => root.node,
    head: () => head.node,
    add,
    get: (ref) => lookup(ref)?.node,
    has: (ref) => lookup(ref) !== undefined,
    children: (ref) => lookup(ref)?.children.map((c) => c.node) ?? [],
    tips: () =>
      [...tips].map((e) => e.node).sort((a, b) => b.height - a.height || compareBytes(a.hash, b.hash)),
    isCanonical: (ref) => {
      const e = lookup(ref);
      return e !== undefined && onHeadChain(e);
    },
    canonicalAt: (height) => canonical.get(height)?.node,
    ancestorAt: (ref, height) => {
      const e = lookup(ref);
      return e === undefined ? undefined : ancestorEntry(e, height)?.node;
    },
    commonAncestor: (a, b) => {
      const x = lookup(a);
      const y = lookup(b);
      return x === undefined || y === undefined ? undefined : commonEntry(x, y).node;
    },
    branch: (from, to) => {
      const f = lookup(from);
      const t = lookup(to);
      if (f === undefined || t === undefined || t.node.height < f.node.height) return undefined;
      const path: ForkNode<S, B>[] = [];
      let cur = t;
      while (cur.node.height > f.node.height) {
        path.push(cur.node);
        cur = cur.parent!;
      }
      return cur === f ? path.reverse() : undefined;
    },
    prune,
  };
}
