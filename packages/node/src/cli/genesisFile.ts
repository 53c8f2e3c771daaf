import { readFile } from "node:fs/promises";
import { type Genesis, GenesisError, parseGenesisJson } from "@cardio/core";
import { CliError } from "./cliError.js";
import { fsError, isErrno } from "./keyFile.js";

/** Longest genesis file read: 10,000 accounts take ~1.3 MB, so this bounds a wrong path, not a real file. */
const MAX_GENESIS_FILE_BYTES = 16 * 1024 * 1024;

/** Reads and checks a `genesis.json`; every failure is one line naming the file and the field. */
export async function readGenesisFile(path: string): Promise<Genesis> {
  let text: string;
  try {
    const buf = await readFile(path);
    if (buf.length > MAX_GENESIS_FILE_BYTES) {
      throw new CliError(
        "GENESIS_INVALID",
        `genesis file ${path} is ${buf.length} bytes, too large to be one`,
      );
    }
    text = buf.toString("utf8");
  } catch (err) {
    if (err instanceof CliError) throw err;
    if (isErrno(err, "ENOENT")) {
      throw new CliError(
        "GENESIS_MISSING",
        `genesis file ${path} does not exist (write one with \`cardio genesis\`, or pass --genesis)`,
      );
    }
    throw fsError(err, path, "read");
  }
  try {
    return parseGenesisJson(text);
  } catch (err) {
    if (err instanceof GenesisError) throw new CliError(err.code, `genesis file ${path}: ${err.message}`);
    throw err;
  }
}
