import {
  type AddResult,
  applyBlock,
  type Block,
  BlockError,
  BlockErrorCode,
  type ChainConfig,
  type ChainState,
  createForkChoice,
  decodeBlock,
  encodeBlock,
  equalBytes,
  type ForkChoice,
  ForkChoiceError,
  type ForkNode,
  type ForkRootInput,
  type Genesis,
  genesisBlock,
  getAccount,
  type Hash,
  headerHash,
  isBetterHead,
  isValidHeaderSignature,
  lotteryWinner,
  MAX_CLOCK_DISPARITY_MS,
  type Reorg,
  slotAt,
  stateRoot,
  toHex,
  transitionBlock,
  txId,
  txRoot,
} from "@cardio/core";
import { errorFields, type Logger, silentLogger } from "../logger.js";
import type { BlockJournal } from "../storage/blockJournal.js";
import { type ChainStore, StorageError } from "../storage/index.js";
import { TypedEmitter } from "../util/typedEmitter.js";
import { OrphanPool } from "./orphanPool.js";
import { decodeStateSnapshot, encodeStateSnapshot, STATE_SNAPSHOT_META } from "./stateSnapshot.js";

/**
 * Journal bytes after which it is cleared, once no journaled write is in flight (see `Chain.writeBehind`):
 * each clear is a truncate, so not after every block.
 */
const JOURNAL_CLEAR_BYTES = 64 * 1024;

/** Blocks the tree's root advances between two state snapshots (see `Chain.saveSnapshotIfDue`). */
const SNAPSHOT_INTERVAL = 256;

/** A block in the node's fork tree: its post-state and the decoded block. */
export type ChainNode = ForkNode<ChainState, Block>;

/** Where a block came from; decides only how it is logged and counted. */
export type BlockSource = "gossip" | "local" | "sync" | "store";

/** What happened to a block handed to `importBlock`. */
export type ImportResult =
  | {
      status: "imported";
      hash: Uint8Array;
      node: ChainNode;
      headChanged: boolean;
      reorg?: Reorg<ChainState, Block>;
    }
  | { status: "duplicate"; hash: Uint8Array }
  | { status: "orphan"; hash: Uint8Array };

/**
 * What the caller already knows about a block it imports, so the chain does not compute it again:
 * the bytes it arrived as (their length is the encoded size, and they are what gets stored) and its
 * id. Both must be exactly what `encodeBlock` and `headerHash` would give for the block; pass them
 * only when they were derived from the block itself (decoded from those bytes, hashed from its header).
 */
export interface KnownEncoding {
  bytes?: Uint8Array;
  hash?: Uint8Array;
  /**
   * Every check of `blockSignatureChecks(block, chainId)` passed (e.g. in the verifier pool), so
   * `applyBlock` skips those Ed25519 calls. Set it only when they all passed; a block with a failed
   * check must be imported without it, so it is refused with the usual error.
   */
  signaturesVerified?: boolean;
}

/** Events of a chain. */
export interface ChainEvents extends Record<string, unknown> {
  /** A block was validated and added to the tree (any branch). */
  block: { node: ChainNode; source: BlockSource };
  /** The head moved; `reorg` is set when it moved to another branch. */
  head: { head: ChainNode; previous: ChainNode; reorg?: Reorg<ChainState, Block> };
  /** A block was refused. */
  invalid: { hash: string; error: BlockError; source: BlockSource };
}

/** Options of `createChain`. */
export interface ChainOptions {
  genesis: Genesis;
  /** Where blocks are kept; blocks found there are replayed on `start`. */
  store: ChainStore;
  /** Wall clock in ms (default `Date.now`); blocks from slots not begun yet are ignored. */
  now?: () => number;
  logger?: Logger;
  /** Most orphans held while their parents are fetched (default 512). */
  maxOrphans?: number;
  /**
   * Blocks (and states) kept in memory below the head (default 2048). Older blocks stay in the store;
   * a fork that would reorg deeper than this is refused.
   */
  keepDepth?: number;
  /**
   * Where gossip and local blocks are journaled before their store write (see `Chain.importBlock`);
   * opened by `start`, closed by its owner after `idle()`. Default none: fine for a store that does
   * not outlive the process (the in-memory one); with a persistent store and no journal, a crash can
   * lose the gossip or local blocks whose writes were still in flight.
   */
  journal?: BlockJournal;
}

/**
 * The node's view of the chain: fork choice over validated blocks, an orphan pool, the store and
 * a transaction index. Imports run one at a time, so validation and persistence never interleave.
 */
export class Chain extends TypedEmitter<ChainEvents> {
  readonly config: ChainConfig;
  readonly genesisHash: Uint8Array;
  readonly store: ChainStore;
  readonly orphans: OrphanPool;
  /** Replaced once by `start()` when it resumes from a state snapshot. */
  private fc: ForkChoice<ChainState, Block>;
  private readonly keepDepth: number;
  /** Height of the last state snapshot saved or loaded (see `saveSnapshotIfDue`). */
  private snapshotHeight = 0;
  private readonly now: () => number;
  private readonly log: Logger;
  private queue: Promise<unknown> = Promise.resolve();
  /** tx id hex → hex hashes of the blocks (any branch) that include it. */
  private readonly txIndex = new Map<string, string[]>();
  /** block hash hex → height, for every block ever imported (also pruned ones). */
  private readonly heights = new Map<string, number>();
  private readonly journal: BlockJournal | undefined;
  /** Settles once every store write started so far has settled. */
  private lastWrite: Promise<void> = Promise.resolve();
  /** Written-behind store writes not settled yet. */
  private writesInFlight = 0;
  /** The first written-behind store write that failed: the chain refuses blocks from then on. */
  private writeFailure: unknown;

  constructor(opts: ChainOptions) {
    super();
    this.config = opts.genesis;
    this.store = opts.store;
    this.now = opts.now ?? Date.now;
    this.log = opts.logger ?? silentLogger;
    this.orphans = new OrphanPool({ maxSize: opts.maxOrphans ?? 512 });
    const g = genesisBlock(opts.genesis);
    this.genesisHash = g.hash;
    this.fc = createForkChoice<ChainState, Block>({
      root: {
        hash: g.hash,
        state: g.state,
        height: 0,
        slot: 0,
        parentHash: g.block.header.parentHash,
        block: g.block,
      },
      autoPruneDepth: opts.keepDepth ?? 2048,
    });
    this.keepDepth = opts.keepDepth ?? 2048;
    this.heights.set(toHex(g.hash), 0);
    this.journal = opts.journal;
  }

  /**
   * Checks the store belongs to this genesis, writes block 0 on first use, replays stored blocks, then
   * imports (and writes) the blocks a crash left in the journal.
   */
  async start(): Promise<void> {
    await this.store.assertGenesis(this.genesisHash);
    this.on("head", () => this.saveSnapshotIfDue());
    const loaded = await this.loadStore();
    const restored = this.journal === undefined ? 0 : await this.replayJournal(this.journal);
    if (loaded === undefined) return; // a new store: block 0 written
    const head = this.fc.head();
    this.log.info(
      {
        replayed: loaded.replayed,
        ...(restored > 0 ? { restoredFromJournal: restored } : {}),
        height: head.height,
        head: head.hashHex.slice(0, 12),
        ...(loaded.snapshotHeight === undefined ? {} : { snapshotHeight: loaded.snapshotHeight }),
      },
      "chain loaded from store",
    );
  }

  /**
   * Imports every block of the journal not in the store yet: blocks announced before a crash whose
   * store writes had not landed. They are validated again like any block, and written before the
   * journal is cleared.
   */
  private async replayJournal(journal: BlockJournal): Promise<number> {
    journal.open();
    const entries = journal.read();
    let restored = 0;
    for (const bytes of entries) {
      try {
        const result = await this.importBlock(decodeBlock(bytes), "store", bytes.length, { bytes });
        if (result.status === "imported") restored++;
      } catch (err) {
        this.log.warn(errorFields(err), "journaled block not restored");
      }
    }
    await this.idle();
    journal.clear();
    if (restored < entries.length) {
      this.log.info({ journaled: entries.length, restored }, "journaled blocks already stored or refused");
    }
    return restored;
  }

  /**
   * Writes block 0 on first use (and returns undefined), else rebuilds the tree from the stored blocks.
   */
  private async loadStore(): Promise<{ replayed: number; snapshotHeight?: number } | undefined> {
    const root = this.fc.root();
    if (!(await this.store.hasBlock(root.hash))) {
      await this.store.putBlock(
        { hash: root.hash, height: 0, slot: 0, parentHash: root.parentHash, bytes: encodeBlock(root.block!) },
        { head: { hash: root.hash, height: 0 }, canonical: { set: [{ hash: root.hash, height: 0 }] } },
      );
      return undefined;
    }
    /*
     * Every stored block passed `applyBlock` when it was imported, so the replay rebuilds each state by
     * rechecking what ties the stored bytes to that verdict: the header hashes to the key it is stored
     * under, links to its parent, the proposer won the parent's lottery, the transactions hash to the
     * tx root and the state transition reaches the state root. It does not verify the Ed25519
     * signatures again (two thirds of a full replay, and what kept a 10,000-block restart over 3 s).
     * A block failing any of these checks goes through the full `applyBlock`, which names the error.
     */
    const replay = (parent: ChainNode, block: Block, storedHash: Uint8Array): ChainState | undefined => {
      const h = block.header;
      if (h.height !== parent.height + 1 || h.slot <= parent.slot) return undefined;
      if (!equalBytes(headerHash(h), storedHash)) return undefined;
      const winner = lotteryWinner(parent.state, parent.hash, h.slot, this.config.minStake);
      if (winner === undefined || !equalBytes(winner.publicKey, h.proposer)) return undefined;
      if (!equalBytes(txRoot(block.txs.map(txId)), h.txRoot)) return undefined;
      try {
        const state = transitionBlock(this.config, parent.state, h.slot, h.proposer, block.txs);
        return equalBytes(stateRoot(state), h.stateRoot) ? state : undefined;
      } catch {
        return undefined;
      }
    };
    /*
     * A state snapshot (see `saveSnapshotIfDue`) of a final block B: the tree starts at B with its saved
     * state, and only the blocks above B are replayed; those at or below it only fill the indexes
     * (heights, transactions). Without a usable snapshot, the replay starts at genesis.
     */
    const snapshot = await this.loadSnapshot();
    if (snapshot !== undefined) {
      this.fc = createForkChoice<ChainState, Block>({ root: snapshot, autoPruneDepth: this.keepDepth });
      this.snapshotHeight = snapshot.height;
    }
    const historyHeight = snapshot?.height ?? 0;
    let replayed = 0;
    // Read ahead: the store fetches the next block while this one is replayed.
    const blocks = this.store.iterateAllBlocks()[Symbol.asyncIterator]();
    let next = blocks.next();
    try {
      for (let r = await next; r.done !== true; r = await next) {
        next = blocks.next();
        const stored = r.value;
        if (stored.height === 0) continue;
        if (stored.height <= historyHeight) {
          this.indexStored(stored.hash, stored.height, stored.bytes);
          continue;
        }
        const block = decodeBlock(stored.bytes);
        const parent = this.fc.get(stored.parentHash);
        if (parent === undefined) continue; // a side branch below the kept depth: history only
        try {
          const state = replay(parent, block, stored.hash);
          // No clock check: these blocks were accepted before.
          const applied =
            state === undefined
              ? applyBlock({ config: this.config, parent, block, encodedSize: stored.bytes.length })
              : { hash: stored.hash, state };
          this.addToTree(applied.hash, block, applied.state);
          replayed++;
        } catch (err) {
          this.log.error(
            { height: stored.height, ...errorFields(err) },
            "stored block failed validation; skipped",
          );
        }
      }
    } finally {
      next.catch(() => undefined); // a read still in flight when a decode error ends the replay
    }
    return snapshot === undefined ? { replayed } : { replayed, snapshotHeight: snapshot.height };
  }

  /**
   * The state snapshot saved in the store, if it can be trusted: it names a block that is stored, on
   * the stored canonical chain (at or below the stored head), and whose header's state root is the
   * root of the saved state. Anything else is logged and ignored (a full replay follows).
   */
  private async loadSnapshot(): Promise<(ForkRootInput<ChainState, Block> & { height: number }) | undefined> {
    const bytes = await this.store.getMeta(STATE_SNAPSHOT_META);
    if (bytes === undefined) return undefined;
    const unusable = (reason: string) => {
      this.log.warn({ reason }, "state snapshot not usable; replaying the chain from genesis");
      return undefined;
    };
    const snap = decodeStateSnapshot(bytes);
    if (snap === undefined) return unusable("unreadable");
    const [canonical, head, blockBytes] = await Promise.all([
      this.store.getCanonicalHash(snap.height),
      this.store.getHead(),
      this.store.getBlock(snap.hash),
    ]);
    if (
      canonical === undefined ||
      !equalBytes(canonical, snap.hash) ||
      head === undefined ||
      head.height < snap.height
    ) {
      return unusable(
        `block ${toHex(snap.hash).slice(0, 12)} at height ${snap.height} is not on the stored chain`,
      );
    }
    if (blockBytes === undefined) return unusable(`block ${toHex(snap.hash).slice(0, 12)} is not stored`);
    let block: Block;
    try {
      block = decodeBlock(blockBytes);
    } catch {
      return unusable(`block ${toHex(snap.hash).slice(0, 12)} does not decode`);
    }
    const h = block.header;
    if (
      h.height !== snap.height ||
      !equalBytes(headerHash(h), snap.hash) ||
      !equalBytes(stateRoot(snap.state), h.stateRoot)
    ) {
      return unusable(`state does not match the state root of block ${toHex(snap.hash).slice(0, 12)}`);
    }
    return {
      hash: snap.hash,
      state: snap.state,
      height: h.height,
      slot: h.slot,
      parentHash: h.parentHash,
      block,
    };
  }

  /** A stored block below the replay's start: known (height) and its transactions indexed, not replayed. */
  private indexStored(hash: Uint8Array, height: number, bytes: Uint8Array): void {
    const hex = toHex(hash);
    this.heights.set(hex, height);
    try {
      for (const tx of decodeBlock(bytes).txs) this.indexTx(txId(tx), hex);
    } catch (err) {
      this.log.error({ height, ...errorFields(err) }, "stored block does not decode; not indexed");
    }
  }

  /**
   * Every SNAPSHOT_INTERVAL blocks of progress of the tree's root (the final block `keepDepth` below the
   * head, which no reorg can undo), saves the root's post-state, so a restart replays only the blocks
   * above it. A cache: written on its own, checked against its block when read (`loadSnapshot`).
   */
  private saveSnapshotIfDue(): void {
    const root = this.fc.root();
    if (root.height < this.snapshotHeight + SNAPSHOT_INTERVAL) return;
    this.snapshotHeight = root.height;
    const bytes = encodeStateSnapshot({ hash: root.hash, height: root.height, state: root.state });
    this.store.putMeta(STATE_SNAPSHOT_META, bytes).catch((err: unknown) => {
      this.log.warn({ height: root.height, ...errorFields(err) }, "state snapshot not saved");
    });
  }

  /** Resolves once every import queued so far has finished and its store write has settled. */
  async idle(): Promise<void> {
    await this.queue;
    await this.lastWrite;
  }

  /**
   * `idle()`, then empties the journal if every journaled write landed: for a clean stop, so the next
   * start has nothing to import again.
   */
  async settle(): Promise<void> {
    await this.idle();
    if (this.journal !== undefined && this.writesInFlight === 0 && this.writeFailure === undefined) {
      this.journal.clear();
    }
  }

  /** The current head. */
  head(): ChainNode {
    return this.fc.head();
  }

  /** The block tree (read-only use). */
  get tree(): ForkChoice<ChainState, Block> {
    return this.fc;
  }

  /** A block in memory by hash. */
  get(hash: Uint8Array | string): ChainNode | undefined {
    return this.fc.get(hash);
  }

  /** True when the block was imported (in memory or pruned to the store). */
  knows(hash: Uint8Array | string): boolean {
    return this.heights.has(typeof hash === "string" ? hash : toHex(hash));
  }

  /** The canonical block at `height` (from memory, else from the store). */
  async canonicalBlockAt(height: number): Promise<{ hash: Uint8Array; block: Block } | undefined> {
    const node = this.fc.canonicalAt(height);
    if (node !== undefined) return { hash: node.hash, block: node.block! };
    if (height > this.fc.head().height) return undefined;
    const hash = await this.store.getCanonicalHash(height);
    if (hash === undefined) return undefined;
    const bytes = await this.store.getBlock(hash);
    return bytes === undefined ? undefined : { hash, block: decodeBlock(bytes) };
  }

  /**
   * Encoded canonical blocks from `start`, at most `count` of them and (beyond the first) at most
   * `maxBytes` in total: the stored bytes as they are, never decoded and re-encoded. They are read
   * from one snapshot of the store, so the list is one chain even if a reorg lands meanwhile; blocks
   * imported but not yet written (the head, for a moment) are added from memory if they extend it.
   */
  async canonicalRangeBytes(
    start: number,
    count: number,
    maxBytes = Number.POSITIVE_INFINITY,
  ): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    if (count <= 0) return out;
    let size = 0;
    let last: Uint8Array | undefined;
    const take = (bytes: Uint8Array, hash: Uint8Array): boolean => {
      if (out.length > 0 && size + bytes.length > maxBytes) return false;
      size += bytes.length;
      out.push(bytes);
      last = hash;
      return true;
    };
    for await (const b of this.store.iterateCanonical(start, count)) {
      if (b.height !== start + out.length) break; // a hole: only a contiguous run is a chain
      if (!take(b.bytes, b.hash)) return out;
    }
    while (out.length < count) {
      const node = this.fc.canonicalAt(start + out.length);
      if (node?.block === undefined) break;
      if (last !== undefined && !equalBytes(node.parentHash, last)) break;
      if (!take(encodeBlock(node.block), node.hash)) break;
    }
    return out;
  }

  /** The encoded bytes of any known block: as stored, else (not written yet) encoded from memory. */
  async blockBytesByHash(hash: Uint8Array): Promise<Uint8Array | undefined> {
    const stored = await this.store.getBlock(hash);
    if (stored !== undefined) return stored;
    const block = this.fc.get(hash)?.block;
    return block === undefined ? undefined : encodeBlock(block);
  }

  /** Any known block by hash (memory, else store). */
  async blockByHash(hash: Uint8Array): Promise<Block | undefined> {
    const node = this.fc.get(hash);
    if (node !== undefined) return node.block;
    const bytes = await this.store.getBlock(hash);
    return bytes === undefined ? undefined : decodeBlock(bytes);
  }

  /** Where a transaction is: the canonical block including it, or undefined. */
  async txInclusion(idHex: string): Promise<{ height: number; blockHash: string } | undefined> {
    for (const blockHex of this.txIndex.get(idHex) ?? []) {
      const height = this.heights.get(blockHex);
      if (height === undefined) continue;
      const canonical = this.fc.canonicalAt(height);
      const canonicalHex =
        canonical?.hashHex ?? toHex((await this.store.getCanonicalHash(height)) ?? new Uint8Array());
      if (canonicalHex === blockHex) return { height, blockHash: blockHex };
    }
    return undefined;
  }

  /**
   * Validates and imports a block (then any orphans waiting for it). Throws `BlockError` (with its
   * verdict) for an invalid block; a block whose parent is unknown is held as an orphan.
   *
   * The store write is one atomic batch per block. For blocks from gossip and the node's own (the
   * latency-critical ones) it is written behind: the block is appended to the journal (a synchronous
   * file append), then the head moves and the block is announced while the batch is written, in order
   * with every other write; a restart imports again what the journal holds. Blocks from sync and the
   * store are written first. A written-behind write that fails leaves the chain refusing every block
   * (StorageError) until a restart, which restores the block from the journal.
   */
  importBlock(
    block: Block,
    source: BlockSource,
    encodedSize?: number,
    known: KnownEncoding = {},
  ): Promise<ImportResult> {
    const run = this.queue.then(() => this.importNow(block, source, encodedSize, known));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async importNow(
    block: Block,
    source: BlockSource,
    encodedSize: number | undefined,
    known: KnownEncoding,
  ): Promise<ImportResult> {
    const hash = known.hash ?? headerHash(block.header);
    const hex = toHex(hash);
    if (this.heights.has(hex)) return { status: "duplicate", hash };
    const parent = this.fc.get(block.header.parentHash);
    if (parent === undefined) {
      if (this.knows(block.header.parentHash)) {
        throw new BlockError(
          BlockErrorCode.UNKNOWN_PARENT,
          "parent is below the kept depth: too deep a fork",
          {
            hash: hex,
          },
        );
      }
      if (block.header.height <= this.fc.root().height) {
        throw new BlockError(
          BlockErrorCode.WRONG_HEIGHT,
          `height ${block.header.height} is below the kept root`,
        );
      }
      this.assertPlausibleOrphan(block);
      this.orphans.add(block, hex);
      return { status: "orphan", hash };
    }
    let result: ImportResult;
    try {
      result = await this.importOnParent(
        block,
        parent,
        hash,
        source,
        encodedSize ?? known.bytes?.length,
        known.bytes,
        known.signaturesVerified === true,
      );
    } catch (err) {
      if (err instanceof BlockError) this.emit("invalid", { hash: hex, error: err, source });
      throw err;
    }
    // Orphans waiting for this block can now be tried; their failures are theirs, not this block's.
    const pending = this.orphans.takeChildren(hex);
    while (pending.length > 0) {
      const child = pending.shift()!;
      const childHash = headerHash(child.header);
      const childParent = this.fc.get(child.header.parentHash);
      if (childParent === undefined || this.heights.has(toHex(childHash))) continue;
      try {
        await this.importOnParent(child, childParent, childHash, source, undefined, undefined);
        pending.push(...this.orphans.takeChildren(toHex(childHash)));
      } catch (err) {
        this.log.debug({ hash: toHex(childHash), ...errorFields(err) }, "orphan refused");
        if (err instanceof BlockError) this.emit("invalid", { hash: toHex(childHash), error: err, source });
      }
    }
    return result;
  }

  /**
   * Cheap checks before holding a block whose parent is unknown, so that orphans cost their sender
   * something: a height the slot allows, a slot that has begun, a proposer that has stake on our head,
   * and its valid signature (a forged one is REJECTed, penalising the sender).
   */
  private assertPlausibleOrphan(block: Block): void {
    const h = block.header;
    if (h.height > h.slot) {
      throw new BlockError(
        BlockErrorCode.WRONG_HEIGHT,
        `height ${h.height} cannot be reached by slot ${h.slot}`,
      );
    }
    const latest = slotAt(this.config, this.now() + MAX_CLOCK_DISPARITY_MS);
    if (h.slot > latest) {
      throw new BlockError(BlockErrorCode.FUTURE_SLOT, `slot ${h.slot} has not started (current ${latest})`);
    }
    if (getAccount(this.fc.head().state, h.proposer).stake < this.config.minStake) {
      throw new BlockError(BlockErrorCode.UNKNOWN_PARENT, "orphan from a proposer with no stake on our head");
    }
    if (!isValidHeaderSignature(h, this.config.chainId)) {
      throw new BlockError(BlockErrorCode.BAD_SIGNATURE, "header signature does not verify for its proposer");
    }
  }

  private async importOnParent(
    block: Block,
    parent: ChainNode,
    hash: Uint8Array,
    source: BlockSource,
    encodedSize: number | undefined,
    bytes: Uint8Array | undefined,
    signaturesVerified = false,
  ): Promise<ImportResult> {
    const applied = applyBlock({
      config: this.config,
      parent,
      block,
      hash,
      // Our own blocks were built on this clock a moment ago; gossip and sync must pass the clock check.
      ...(source === "local" ? {} : { nowMs: this.now() }),
      ...(encodedSize === undefined ? {} : { encodedSize }),
      ...(signaturesVerified ? { signaturesVerified } : {}),
    });
    if (this.writeFailure !== undefined) {
      throw new StorageError("IO", "an earlier block write failed; restart the node to restore it", {
        hash: toHex(hash),
      });
    }
    const previous = this.fc.head();
    const h = block.header;
    const stored = { hash, height: h.height, slot: h.slot, parentHash: h.parentHash };
    const update = this.headUpdate(hash, h.height, parent);
    const encoded = bytes ?? encodeBlock(block);
    if (source === "gossip" || source === "local") {
      // Journaled, so the head may move now: a crash before the write lands loses nothing anyone saw.
      // A failed append throws here and changes nothing.
      this.journal?.append(encoded);
      this.writeBehind(this.persist(stored, update, encoded));
    } else {
      // Written first: the head (and all that is served or emitted from it) moves only once the store
      // holds the block. A failed write throws here and leaves the tree, head and indexes as they were.
      const write = this.persist(stored, update, encoded);
      this.lastWrite = Promise.all([this.lastWrite, write.catch(() => undefined)]).then(() => undefined);
      await write;
    }
    const added = this.addToTree(hash, block, applied.state, applied.txIds);
    const node = this.fc.get(hash)!;
    this.emit("block", { node, source });
    if (added.headChanged) {
      this.emit("head", {
        head: added.head,
        previous,
        ...(added.reorg === undefined ? {} : { reorg: added.reorg }),
      });
    }
    return {
      status: "imported",
      hash,
      node,
      headChanged: added.headChanged,
      ...(added.reorg === undefined ? {} : { reorg: added.reorg }),
    };
  }

  /** Tracks a write the import does not wait for (see `importBlock`). */
  private writeBehind(write: Promise<void>): void {
    this.writesInFlight++;
    const settled = write.then(
      () => {
        this.writesInFlight--;
        const journal = this.journal;
        if (
          journal !== undefined &&
          this.writesInFlight === 0 &&
          this.writeFailure === undefined &&
          journal.size >= JOURNAL_CLEAR_BYTES
        ) {
          try {
            journal.clear();
          } catch (err) {
            this.log.warn(errorFields(err), "block journal not cleared");
          }
        }
      },
      (err: unknown) => {
        this.writesInFlight--;
        if (this.writeFailure !== undefined) return;
        this.writeFailure = err;
        this.log.error(
          errorFields(err),
          "block write failed; refusing blocks until a restart restores it from the journal",
        );
      },
    );
    this.lastWrite = Promise.all([this.lastWrite, settled]).then(() => undefined);
  }

  /**
   * What adding block `hash` (at `height`, on `parent`, which is in the tree) will do to the head, in
   * the store's terms, computed before the tree changes: nothing if the head stays; else the new head
   * and the canonical heights it sets (the branch from the common ancestor when it is a reorg), and
   * where the old canonical chain ends beyond it.
   */
  private headUpdate(hash: Hash, height: number, parent: ChainNode): HeadUpdate | undefined {
    const head = this.fc.head();
    if (!isBetterHead({ hash, height }, head)) return undefined;
    const set: { hash: Uint8Array; height: number }[] = [{ hash, height }];
    if (parent !== head) {
      // A reorg: the side branch from the head chain up to the parent becomes canonical too.
      for (let n: ChainNode | undefined = parent; n !== undefined && !this.fc.isCanonical(n.hash); ) {
        set.push({ hash: n.hash, height: n.height });
        n = this.fc.get(n.parentHash);
      }
      set.reverse();
    }
    return {
      head: { hash, height },
      set,
      ...(head.height > height ? { deleteFrom: height + 1 } : {}),
    };
  }

  private addToTree(
    hash: Uint8Array,
    block: Block,
    state: ChainState,
    txIds?: readonly Hash[],
  ): AddResult<ChainState, Block> {
    const h = block.header;
    let added: AddResult<ChainState, Block>;
    try {
      added = this.fc.add({ hash, parentHash: h.parentHash, height: h.height, slot: h.slot, state, block });
    } catch (err) {
      if (err instanceof ForkChoiceError) {
        throw new BlockError(BlockErrorCode.UNKNOWN_PARENT, err.message, { forkChoice: err.code });
      }
      throw err;
    }
    const hex = toHex(hash);
    this.heights.set(hex, h.height);
    for (let i = 0; i < block.txs.length; i++) this.indexTx(txIds?.[i] ?? txId(block.txs[i]!), hex);
    return added;
  }

  private indexTx(txIdBytes: Hash, blockHex: string): void {
    const id = toHex(txIdBytes);
    const list = this.txIndex.get(id);
    if (list === undefined) this.txIndex.set(id, [blockHex]);
    else if (!list.includes(blockHex)) list.push(blockHex);
  }

  private async persist(
    stored: { hash: Uint8Array; height: number; slot: number; parentHash: Uint8Array },
    update: HeadUpdate | undefined,
    bytes: Uint8Array,
  ): Promise<void> {
    const block = { ...stored, bytes };
    if (update === undefined) {
      await this.store.putBlock(block);
      return;
    }
    await this.store.putBlock(block, {
      head: update.head,
      canonical: {
        set: update.set,
        ...(update.deleteFrom === undefined ? {} : { deleteFrom: update.deleteFrom }),
      },
    });
  }
}

/** How importing a block moves the stored head and canonical chain (see `Chain.headUpdate`). */
interface HeadUpdate {
  head: { hash: Uint8Array; height: number };
  set: { hash: Uint8Array; height: number }[];
  deleteFrom?: number;
}

/** Creates a chain on a store; call `start()` to load what the store holds. */
export function createChain(opts: ChainOptions): Chain {
  return new Chain(opts);
}
