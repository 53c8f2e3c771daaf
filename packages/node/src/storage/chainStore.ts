/**
 * The chain-level view of a KvStore. Blocks are opaque encoded bytes identified by their 32-byte hash:
 * nothing here knows the chain's encoding, so `core` can change it without touching storage.
 *
 * Key layout. The first byte names the table; integers are unsigned big-endian, so the bytewise key order
 * LevelDB keeps is the numeric order and a height range is a key range.
 *
 *   0x00                          → layout version, uint32                   (written by the first open)
 *   0x01 ‖ hash(32)               → block bytes, as given
 *   0x02 ‖ hash(32)               → block meta: height(8) ‖ slot(8) ‖ parentHash(32)
 *   0x03 ‖ height(8) ‖ hash(32)   → the same block meta; every stored block, all forks, in height order
 *   0x04 ‖ height(8)              → hash(32) of the canonical block at that height
 *   0x05                          → head: height(8) ‖ hash(32)
 *   0x06                          → last slot the local validator signed, uint64
 *   0x07 ‖ utf8(name)             → small metadata value (the genesis hash, …)
 *   0x08 ‖ txId(32)               → encoded pending transaction the node accepted (its mempool)
 *
 * Everything one block import changes (block, both meta rows, canonical rewrites, head) goes into one
 * atomic batch, so a crash leaves either the old chain or the new one, never a head without its block.
 */
import { concatBytes, equalBytes, toHex } from "./bytes.js";
import type { KvOperation, KvStore } from "./kvStore.js";
import { StorageError } from "./storageError.js";

/** Length of a block hash (sha256). */
export const HASH_LENGTH = 32;
/** Bumped whenever the key layout above changes incompatibly. */
export const CHAIN_STORE_FORMAT_VERSION = 1;
/** Metadata key under which `assertGenesis` records the chain's genesis hash. */
export const GENESIS_META_KEY = "genesisHash";

const VERSION_KEY = Uint8Array.of(0x00);
const BLOCK = 0x01;
const BLOCK_META = 0x02;
const BY_HEIGHT = 0x03;
const CANONICAL = 0x04;
const HEAD_KEY = Uint8Array.of(0x05);
const LAST_SIGNED_SLOT_KEY = Uint8Array.of(0x06);
const META = 0x07;
const PENDING_TX = 0x08;
const META_LENGTH = 8 + 8 + HASH_LENGTH;

/** A block as the store sees it: a few header fields it indexes, and the encoded bytes it keeps verbatim. */
export interface StoredBlock {
  hash: Uint8Array;
  height: number;
  slot: number;
  /** 32 bytes; the genesis block's parent is whatever `core` says (typically all zeros). */
  parentHash: Uint8Array;
  bytes: Uint8Array;
}

export interface BlockMeta {
  height: number;
  slot: number;
  parentHash: Uint8Array;
}

export interface ChainPointer {
  hash: Uint8Array;
  height: number;
}

export interface CanonicalUpdate {
  /** Canonical entries to write; a height written here survives a `deleteFrom` of the same update. */
  set: ReadonlyArray<ChainPointer>;
  /** Delete every canonical entry at a height ≥ this one (a reorg onto a shorter branch) before `set`. */
  deleteFrom?: number;
}

/** What else changes when a block is imported. Fork choice decides; the store only applies it atomically. */
export interface PutBlockUpdate {
  /** New head; must be this block or one already stored. */
  head?: ChainPointer;
  canonical?: CanonicalUpdate;
}

export interface CanonicalBlock {
  height: number;
  hash: Uint8Array;
  bytes: Uint8Array;
}

export interface ChainStore {
  /** Opens the underlying KvStore and checks (or, on an empty store, writes) the layout version. */
  open(): Promise<void>;
  /** Waits for pending writes, then closes the underlying KvStore. */
  close(): Promise<void>;
  /** Stores `block` and applies `update` in one atomic batch. Storing a known block again is harmless. */
  putBlock(block: StoredBlock, update?: PutBlockUpdate): Promise<void>;
  getBlock(hash: Uint8Array): Promise<Uint8Array | undefined>;
  /** Height, slot and parent of a stored block, without reading or decoding its bytes. */
  getBlockMeta(hash: Uint8Array): Promise<BlockMeta | undefined>;
  hasBlock(hash: Uint8Array): Promise<boolean>;
  getCanonicalHash(height: number): Promise<Uint8Array | undefined>;
  getHead(): Promise<ChainPointer | undefined>;
  /** Canonical blocks from `fromHeight` upwards, at most `limit` of them (default: all). */
  iterateCanonical(fromHeight: number, limit?: number): AsyncIterable<CanonicalBlock>;
  /** Every stored block, canonical or not, by ascending height (ties by hash): parents before children. */
  iterateAllBlocks(): AsyncIterable<StoredBlock>;
  getLastSignedSlot(): Promise<number | undefined>;
  /**
   * Records that the validator signed `slot`, durably (fsync) before resolving: it is what keeps a
   * restarted validator from signing a second block for a slot. Refuses to move backwards.
   */
  setLastSignedSlot(slot: number): Promise<void>;
  getMeta(name: string): Promise<Uint8Array | undefined>;
  putMeta(name: string, value: Uint8Array): Promise<void>;
  /**
   * Records `genesisHash` on first use; afterwards throws GENESIS_MISMATCH if it differs, so a node
   * pointed at another chain's data dir stops instead of mixing two chains.
   */
  assertGenesis(genesisHash: Uint8Array): Promise<void>;
  /** Keeps an accepted pending transaction (by id), so a crash cannot lose what the node accepted. */
  putPendingTx(id: Uint8Array, bytes: Uint8Array): Promise<void>;
  /** Forgets pending transactions (included, dropped or replaced). */
  deletePendingTxs(ids: readonly Uint8Array[]): Promise<void>;
  /** Every kept pending transaction: [id, bytes]. */
  iteratePendingTxs(): AsyncIterable<[Uint8Array, Uint8Array]>;
}

export function createChainStore(kv: KvStore): ChainStore {
  // Writes that read first (canonical deletes, the signed-slot check, the genesis check) must not
  // interleave, so they run one at a time. Reads need no lock: each is a single KvStore call or snapshot.
  let writes: Promise<unknown> = Promise.resolve();
  function exclusive<T>(write: () => Promise<T>): Promise<T> {
    const result = writes.then(write);
    writes = result.catch(() => {});
    return result;
  }

  async function readMeta(hash: Uint8Array): Promise<BlockMeta | undefined> {
    const value = await kv.get(concatBytes(Uint8Array.of(BLOCK_META), assertHash(hash, "hash")));
    return value === undefined ? undefined : decodeBlockMeta(value, hash);
  }

  async function readLastSignedSlot(): Promise<number | undefined> {
    const value = await kv.get(LAST_SIGNED_SLOT_KEY);
    if (value === undefined) return undefined;
    if (value.length !== 8) throw corrupt(`last signed slot is ${value.length} bytes`);
    return decodeUint64(value, 0, "last signed slot");
  }

  return {
    async open() {
      await kv.open();
      // A store this code cannot read must not stay open: that would keep the data dir locked.
      await exclusive(async () => {
        const stored = await kv.get(VERSION_KEY);
        if (stored === undefined) {
          await kv.batch(
            [{ type: "put", key: VERSION_KEY, value: encodeUint32(CHAIN_STORE_FORMAT_VERSION) }],
            {
              sync: true,
            },
          );
          return;
        }
        const version =
          stored.length === 4 ? new DataView(stored.buffer, stored.byteOffset).getUint32(0) : -1;
        if (version !== CHAIN_STORE_FORMAT_VERSION) {
          throw new StorageError(
            "UNSUPPORTED_FORMAT",
            `storage layout version ${version} is not supported (this cardio reads version ${CHAIN_STORE_FORMAT_VERSION})`,
            { version, supported: CHAIN_STORE_FORMAT_VERSION },
          );
        }
      }).catch(async (err: unknown) => {
        await kv.close().catch(() => {});
        throw err;
      });
    },

    async close() {
      await writes;
      await kv.close();
    },

    async putBlock(block, update = {}) {
      const hash = assertHash(block.hash, "block hash");
      const meta = encodeBlockMeta({
        height: assertUint(block.height, "block height"),
        slot: assertUint(block.slot, "block slot"),
        parentHash: assertHash(block.parentHash, "parent hash"),
      });
      if (!(block.bytes instanceof Uint8Array)) {
        throw new StorageError("INVALID_ARGUMENT", "block bytes must be a Uint8Array", { hash: toHex(hash) });
      }
      const head = update.head && {
        height: assertUint(update.head.height, "head height"),
        hash: update.head.hash,
      };
      if (head) assertHash(head.hash, "head hash");
      const canonicalSet = (update.canonical?.set ?? []).map((entry) => ({
        height: assertUint(entry.height, "canonical height"),
        hash: assertHash(entry.hash, "canonical hash"),
      }));
      const deleteFrom =
        update.canonical?.deleteFrom === undefined
          ? undefined
          : assertUint(update.canonical.deleteFrom, "canonical deleteFrom");

      return exclusive(async () => {
        const ops: KvOperation[] = [
          { type: "put", key: concatBytes(Uint8Array.of(BLOCK), hash), value: block.bytes },
          { type: "put", key: concatBytes(Uint8Array.of(BLOCK_META), hash), value: meta },
          {
            type: "put",
            key: concatBytes(Uint8Array.of(BY_HEIGHT), encodeUint64(block.height), hash),
            value: meta,
          },
        ];
        if (head && !equalBytes(head.hash, hash) && (await readMeta(head.hash)) === undefined) {
          throw new StorageError(
            "INVALID_ARGUMENT",
            `head ${toHex(head.hash)} is neither this block nor a stored one`,
            {
              head: toHex(head.hash),
            },
          );
        }
        if (deleteFrom !== undefined) {
          // Ops apply in order, so the deletes go first and `set` can rewrite any of those heights.
          for await (const [key] of kv.iterate({
            gte: canonicalKey(deleteFrom),
            lt: Uint8Array.of(CANONICAL + 1),
          })) {
            ops.push({ type: "del", key });
          }
        }
        for (const entry of canonicalSet) {
          ops.push({ type: "put", key: canonicalKey(entry.height), value: entry.hash });
        }
        if (head)
          ops.push({ type: "put", key: HEAD_KEY, value: concatBytes(encodeUint64(head.height), head.hash) });
        await kv.batch(ops);
      });
    },

    async getBlock(hash) {
      return kv.get(concatBytes(Uint8Array.of(BLOCK), assertHash(hash, "hash")));
    },

    getBlockMeta: readMeta,

    async hasBlock(hash) {
      return (await readMeta(hash)) !== undefined;
    },

    async getCanonicalHash(height) {
      const value = await kv.get(canonicalKey(assertUint(height, "height")));
      if (value !== undefined && value.length !== HASH_LENGTH) {
        throw corrupt(`canonical entry at height ${height} is ${value.length} bytes`, { height });
      }
      return value;
    },

    async getHead() {
      const value = await kv.get(HEAD_KEY);
      if (value === undefined) return undefined;
      if (value.length !== 8 + HASH_LENGTH) throw corrupt(`head pointer is ${value.length} bytes`);
      return { height: decodeUint64(value, 0, "head height"), hash: value.slice(8) };
    },

    async *iterateCanonical(fromHeight, limit = Number.POSITIVE_INFINITY) {
      const range = {
        gte: canonicalKey(assertUint(fromHeight, "fromHeight")),
        lt: Uint8Array.of(CANONICAL + 1),
        limit,
      };
      for await (const [key, hash] of kv.iterate(range)) {
        const height = decodeUint64(key, 1, "canonical height");
        const bytes = await kv.get(concatBytes(Uint8Array.of(BLOCK), hash));
        if (bytes === undefined) {
          throw corrupt(`canonical block ${toHex(hash)} at height ${height} is missing`, {
            height,
            hash: toHex(hash),
          });
        }
        yield { height, hash, bytes };
      }
    },

    async *iterateAllBlocks() {
      // The height index walks in order, but the bytes live under their hashes: they are fetched
      // ITERATE_BATCH at a time (one `getMany` on LevelDB, ~10× faster than a `get` per block, which
      // was most of a restart's read time), the next batch while the caller works through this one.
      const index = kv
        .iterate({ gte: Uint8Array.of(BY_HEIGHT), lt: Uint8Array.of(BY_HEIGHT + 1) })
        [Symbol.asyncIterator]();
      const load = async (): Promise<StoredBlock[]> => {
        const entries: Array<{ hash: Uint8Array; meta: BlockMeta }> = [];
        while (entries.length < ITERATE_BATCH) {
          const r = await index.next();
          if (r.done === true) break;
          const hash = r.value[0].slice(9);
          entries.push({ hash, meta: decodeBlockMeta(r.value[1], hash) });
        }
        if (entries.length === 0) return [];
        const values = await getMany(
          kv,
          entries.map((e) => concatBytes(Uint8Array.of(BLOCK), e.hash)),
        );
        return entries.map(({ hash, meta }, i) => {
          const bytes = values[i];
          if (bytes === undefined)
            throw corrupt(`indexed block ${toHex(hash)} is missing`, { hash: toHex(hash) });
          return { hash, ...meta, bytes };
        });
      };
      let next = load();
      try {
        for (let blocks = await next; blocks.length > 0; blocks = await next) {
          next = load();
          yield* blocks;
        }
      } finally {
        // The caller stopped early (or a read failed): let the read in flight end, then release the index.
        await next.catch(() => undefined);
        await index.return?.();
      }
    },

    getLastSignedSlot: readLastSignedSlot,

    async setLastSignedSlot(slot) {
      assertUint(slot, "slot");
      return exclusive(async () => {
        const previous = await readLastSignedSlot();
        if (previous !== undefined && slot < previous) {
          throw new StorageError(
            "INVALID_ARGUMENT",
            `last signed slot cannot move back from ${previous} to ${slot}`,
            { previous, slot },
          );
        }
        await kv.batch([{ type: "put", key: LAST_SIGNED_SLOT_KEY, value: encodeUint64(slot) }], {
          sync: true,
        });
      });
    },

    async getMeta(name) {
      return kv.get(metaKey(name));
    },

    async putMeta(name, value) {
      const key = metaKey(name);
      return exclusive(() => kv.batch([{ type: "put", key, value }]));
    },

    async putPendingTx(id, bytes) {
      const key = concatBytes(Uint8Array.of(PENDING_TX), assertHash(id, "tx id"));
      return exclusive(() => kv.batch([{ type: "put", key, value: bytes }]));
    },

    async deletePendingTxs(ids) {
      if (ids.length === 0) return;
      const ops: KvOperation[] = ids.map((id) => ({
        type: "del",
        key: concatBytes(Uint8Array.of(PENDING_TX), assertHash(id, "tx id")),
      }));
      return exclusive(() => kv.batch(ops));
    },

    async *iteratePendingTxs() {
      for await (const [key, value] of kv.iterate({
        gte: Uint8Array.of(PENDING_TX),
        lt: Uint8Array.of(PENDING_TX + 1),
      })) {
        yield [key.slice(1), value] as [Uint8Array, Uint8Array];
      }
    },

    async assertGenesis(genesisHash) {
      assertHash(genesisHash, "genesis hash");
      return exclusive(async () => {
        const stored = await kv.get(metaKey(GENESIS_META_KEY));
        if (stored === undefined) {
          await kv.batch([{ type: "put", key: metaKey(GENESIS_META_KEY), value: genesisHash }], {
            sync: true,
          });
          return;
        }
        if (!equalBytes(stored, genesisHash)) {
          throw new StorageError(
            "GENESIS_MISMATCH",
            `the data dir holds the chain with genesis ${toHex(stored)}, but this node was started with genesis ${toHex(genesisHash)}: use another data dir or the matching genesis file`,
            { stored: toHex(stored), given: toHex(genesisHash) },
          );
        }
      });
    },
  };
}

/** Blocks read per `getMany` by `iterateAllBlocks`. */
const ITERATE_BATCH = 256;

/**
 * What a KvStore may offer beyond the interface: many reads in one call (LevelDB's `getMany`). The
 * chain store uses it when present, else one `get` per key, all in flight at once.
 */
export interface KvBulkReads {
  getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>>;
}

function getMany(kv: KvStore, keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
  const bulk = (kv as KvStore & Partial<KvBulkReads>).getMany;
  return bulk !== undefined ? bulk.call(kv, keys) : Promise.all(keys.map((k) => kv.get(k)));
}

function canonicalKey(height: number): Uint8Array {
  return concatBytes(Uint8Array.of(CANONICAL), encodeUint64(height));
}

function metaKey(name: string): Uint8Array {
  if (typeof name !== "string" || name.length === 0) {
    throw new StorageError("INVALID_ARGUMENT", "metadata name must be a non-empty string", { name });
  }
  return concatBytes(Uint8Array.of(META), new TextEncoder().encode(name));
}

function encodeBlockMeta(meta: BlockMeta): Uint8Array {
  return concatBytes(encodeUint64(meta.height), encodeUint64(meta.slot), meta.parentHash);
}

function decodeBlockMeta(value: Uint8Array, hash: Uint8Array): BlockMeta {
  if (value.length !== META_LENGTH) {
    throw corrupt(`meta of block ${toHex(hash)} is ${value.length} bytes`, { hash: toHex(hash) });
  }
  return {
    height: decodeUint64(value, 0, "block height"),
    slot: decodeUint64(value, 8, "block slot"),
    parentHash: value.slice(16),
  };
}

function encodeUint32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

function encodeUint64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

function decodeUint64(bytes: Uint8Array, offset: number, what: string): number {
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`${what} ${n} is beyond the safe integer range`);
  return Number(n);
}

function assertUint(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new StorageError("INVALID_ARGUMENT", `${what} must be a non-negative safe integer, got ${n}`, {
      [what]: n,
    });
  }
  return n;
}

function assertHash(hash: Uint8Array, what: string): Uint8Array {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_LENGTH) {
    throw new StorageError("INVALID_ARGUMENT", `${what} must be ${HASH_LENGTH} bytes`, {
      length: (hash as Uint8Array | undefined)?.length,
    });
  }
  return hash;
}

function corrupt(message: string, meta: Record<string, unknown> = {}): StorageError {
  return new StorageError("CORRUPT", message, meta);
}
