import { appendFileSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type BlockJournal, createFileBlockJournal, StorageError } from "../../src/storage/index.js";
import { tempDirs } from "../helpers/tempDirs.js";

const dirs = tempDirs("cardio-journal-");
const opened: BlockJournal[] = [];
afterEach(() => {
  for (const j of opened.splice(0)) j.close();
  dirs.removeAll();
});

function fileIn(): string {
  return join(dirs.make(), "blocks.journal");
}

function journal(path: string): BlockJournal {
  const j = createFileBlockJournal({ path });
  opened.push(j);
  j.open();
  return j;
}

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe("createFileBlockJournal", () => {
  it("reads back what was appended, in order, also after close and reopen", () => {
    const path = fileIn();
    const j = journal(path);
    j.append(bytes(3, 1));
    j.append(bytes(0, 0));
    j.append(bytes(300, 7));
    expect(j.read()).toEqual([bytes(3, 1), bytes(0, 0), bytes(300, 7)]);
    expect(j.size).toBe(3 * 8 + 303);
    j.close();
    const again = journal(path);
    expect(again.size).toBe(3 * 8 + 303);
    expect(again.read()).toEqual([bytes(3, 1), bytes(0, 0), bytes(300, 7)]);
  });

  it("creates the file with mode 0600", () => {
    const path = fileIn();
    journal(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("forgets everything on clear", () => {
    const path = fileIn();
    const j = journal(path);
    j.append(bytes(10, 2));
    j.clear();
    expect(j.read()).toEqual([]);
    expect(j.size).toBe(0);
    expect(statSync(path).size).toBe(0);
    j.append(bytes(4, 9));
    expect(j.read()).toEqual([bytes(4, 9)]);
  });

  it("stops at a torn or damaged record and cuts it off on open, so later appends stay readable", () => {
    const path = fileIn();
    const j = journal(path);
    j.append(bytes(5, 1));
    j.append(bytes(5, 2));
    j.close();
    // A crash in the middle of an append: a header announcing 100 bytes, then 3 of them.
    appendFileSync(path, Buffer.from([0, 0, 0, 100, 1, 2, 3, 4, 9, 9, 9]));
    const reopened = journal(path);
    expect(reopened.read()).toEqual([bytes(5, 1), bytes(5, 2)]);
    reopened.append(bytes(2, 3));
    expect(reopened.read()).toEqual([bytes(5, 1), bytes(5, 2), bytes(2, 3)]);

    // A flipped bit in a record's payload fails its checksum: it and everything after it are dropped.
    const file = readFileSync(path);
    file[8 + 5 + 8 + 1] = file[8 + 5 + 8 + 1]! ^ 1;
    writeFileSync(path, file);
    reopened.close();
    expect(journal(path).read()).toEqual([bytes(5, 1)]);
  });

  it("refuses use before open and after close, with a StorageError", () => {
    const path = fileIn();
    const j = createFileBlockJournal({ path });
    opened.push(j);
    expect(() => j.append(bytes(1, 1))).toThrow(StorageError);
    j.open();
    j.close();
    const err = (() => {
      try {
        j.append(bytes(1, 1));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe("NOT_OPEN");
  });

  it("fails to open with a StorageError (IO) where the file cannot be created", () => {
    const j = createFileBlockJournal({ path: join(fileIn(), "no-such-dir", "blocks.journal") });
    expect(() => j.open()).toThrow(StorageError);
  });
});
