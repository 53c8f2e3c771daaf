export { type BlockJournal, createFileBlockJournal, type FileBlockJournalOptions } from "./blockJournal.js";
export { compareBytes, equalBytes, toHex } from "./bytes.js";
export {
  type BlockMeta,
  type CanonicalBlock,
  type CanonicalUpdate,
  CHAIN_STORE_FORMAT_VERSION,
  type ChainPointer,
  type ChainStore,
  createChainStore,
  GENESIS_META_KEY,
  HASH_LENGTH,
  type PutBlockUpdate,
  type StoredBlock,
} from "./chainStore.js";
export type { KvBatchOptions, KvOperation, KvRange, KvStore } from "./kvStore.js";
export { createLevelKvStore, type LevelKvStore, type LevelKvStoreOptions } from "./levelKvStore.js";
export { createMemoryKvStore } from "./memoryKvStore.js";
export { isStorageError, StorageError, StorageErrorCode } from "./storageError.js";
