import { execFile } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createChainStore } from "../../src/storage/chainStore.js";
import { createLevelKvStore, type LevelKvStore } from "../../src/storage/levelKvStore.js";
import { isStorageError, StorageError } from "../../src/storage/storageError.js";
import { bytes, hex, makeTempDir } from "./fixtures.js";

const run = promisify(execFile);
const childScript = fileURLToPath(new URL("./fixtures/openLevelStore.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));

/** Opens `dir` from a separate Node process (through tsx, so it runs our TypeScript store). */
async function openFromAnotherProcess(
  dir: string,
): Promise<{ opened: boolean; code?: string; message?: string }> {
  const { stdout } = await run(process.execPath, ["--import", "tsx", childScript, dir], { cwd: repoRoot });
  return JSON.parse(stdout.trim());
}

describe("LevelDB store specifics", () => {
  let root: string;
  const open: LevelKvStore[] = [];

  async function openStore(dir: string): Promise<LevelKvStore> {
    const store = createLevelKvStore({ dir });
    await store.open();
    open.push(store);
    return store;
  }

  beforeEach(async () => {
    root = await makeTempDir();
  });

  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
    await rm(root, { recursive: true, force: true });
  });

  it("creates a missing data dir, parents included", async () => {
    const store = await openStore(join(root, "a", "b", "data"));
    await store.batch([{ type: "put", key: bytes(1), value: bytes(2) }]);
    expect(hex(await store.get(bytes(1)))).toBe("02");
  });

  it("refuses a second open of the same dir in this process with ALREADY_IN_USE", async () => {
    const dir = join(root, "data");
    await openStore(dir);
    const err = await createLevelKvStore({ dir })
      .open()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(isStorageError(err, "ALREADY_IN_USE")).toBe(true);
    expect((err as StorageError).message).toBe(`data dir ${dir} is already in use by another cardio process`);
    expect((err as StorageError).meta).toMatchObject({ dir, driverCode: "LEVEL_LOCKED" });
  });

  it("lets the dir be opened again once the first store closed", async () => {
    const dir = join(root, "data");
    const first = await openStore(dir);
    await first.batch([{ type: "put", key: bytes(1), value: bytes(1) }], { sync: true });
    await first.close();
    const second = await openStore(dir);
    expect(hex(await second.get(bytes(1)))).toBe("01");
  });

  it("refuses the dir to another process while open, and releases it on close", async () => {
    const dir = join(root, "data");
    const store = await openStore(dir);
    const refused = await openFromAnotherProcess(dir);
    expect(refused).toEqual({
      opened: false,
      name: "StorageError",
      code: "ALREADY_IN_USE",
      message: `data dir ${dir} is already in use by another cardio process`,
    });
    await store.close();
    // Control: the child can open the dir at all, so the refusal above really was the lock.
    expect(await openFromAnotherProcess(dir)).toEqual({ opened: true });
  });

  it("reports an unusable path as an IO error naming the dir", async () => {
    const file = join(root, "not-a-dir");
    await writeFile(file, "x");
    const err = await createLevelKvStore({ dir: join(file, "data") })
      .open()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "StorageError", code: "IO" });
    expect((err as Error).message).toContain(file);
  });

  it("keeps the last signed slot across a restart of the chain store", async () => {
    const dir = join(root, "data");
    const first = createChainStore(createLevelKvStore({ dir }));
    await first.open();
    await first.setLastSignedSlot(41);
    await first.close();
    const second = createChainStore(createLevelKvStore({ dir }));
    await second.open();
    expect(await second.getLastSignedSlot()).toBe(41);
    await second.close();
  });

  it("closes the store again when the chain store refuses its layout version", async () => {
    const dir = join(root, "data");
    const raw = await openStore(dir);
    await raw.batch([{ type: "put", key: Uint8Array.of(0), value: Uint8Array.of(0, 0, 0, 99) }]);
    await raw.close();
    await expect(createChainStore(createLevelKvStore({ dir })).open()).rejects.toMatchObject({
      code: "UNSUPPORTED_FORMAT",
    });
    // Still openable: the failed open did not keep the lock.
    await openStore(dir);
  });
});
