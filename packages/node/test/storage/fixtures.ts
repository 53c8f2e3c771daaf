import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KvStore } from "../../src/storage/kvStore.js";
import { createLevelKvStore } from "../../src/storage/levelKvStore.js";
import { createMemoryKvStore } from "../../src/storage/memoryKvStore.js";

/** An open store plus what a test needs to simulate a restart and to clean up. */
export interface KvFixture {
  /** The currently open store (replaced by `reopen`). */
  readonly store: KvStore;
  /** Closes the current store and opens a new handle on the same data, as a restarted node would. */
  reopen(): Promise<KvStore>;
  /** Closes the store and removes whatever it left on disk. */
  cleanup(): Promise<void>;
}

export type KvFixtureFactory = () => Promise<KvFixture>;

export const memoryFixture: KvFixtureFactory = async () => {
  // The memory store keeps its data across close/open, so reopening the same instance is a restart.
  const store = createMemoryKvStore();
  await store.open();
  return {
    store,
    async reopen() {
      await store.close();
      await store.open();
      return store;
    },
    async cleanup() {
      await store.close();
    },
  };
};

export async function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "cardio-storage-"));
}

export const levelFixture: KvFixtureFactory = async () => {
  const root = await makeTempDir();
  const dir = join(root, "db");
  let store: KvStore = createLevelKvStore({ dir });
  await store.open();
  return {
    get store() {
      return store;
    },
    async reopen() {
      await store.close();
      store = createLevelKvStore({ dir });
      await store.open();
      return store;
    },
    async cleanup() {
      await store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
};

export const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

export const hex = (value: Uint8Array | undefined): string | undefined =>
  value === undefined ? undefined : Buffer.from(value).toString("hex");

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
