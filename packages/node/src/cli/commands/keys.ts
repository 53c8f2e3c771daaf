import { addressFromPublicKey, toHex } from "@cardio/core";
import type { Command } from "commander";
import { generateKeyPair, readKeyFile, writeKeyFile } from "../keyFile.js";
import { DEFAULT_KEY_FILE, jsonOption, keyOption, option } from "../options.js";
import { printJson, println } from "../output.js";

/** Options of `cardio keys new`. */
export interface KeysNewOptions {
  out?: string;
  force?: boolean;
  json?: boolean;
}

/** Options of `cardio keys show`. */
export interface KeysShowOptions {
  key: string;
  json?: boolean;
}

/** `cardio keys new`: writes a fresh random key (mode 0600) and prints its address. */
export async function keysNew(opts: KeysNewOptions): Promise<void> {
  const file = opts.out ?? DEFAULT_KEY_FILE;
  const key = generateKeyPair();
  await writeKeyFile(file, key, { force: opts.force === true });
  const address = addressFromPublicKey(key.publicKey);
  if (opts.json === true) {
    printJson({ address, publicKey: toHex(key.publicKey), file });
    return;
  }
  println(`address   ${address}`);
  // Without --out the person did not choose the file, so say where it went.
  if (opts.out === undefined) println(`key file  ${file} (mode 0600)`);
}

/** `cardio keys show`: the address and public key of a key file; never the private key. */
export async function keysShow(opts: KeysShowOptions): Promise<void> {
  const key = await readKeyFile(opts.key);
  const address = addressFromPublicKey(key.publicKey);
  if (opts.json === true) {
    printJson({ address, publicKey: toHex(key.publicKey) });
    return;
  }
  println(`address     ${address}`, `public key  ${toHex(key.publicKey)}`);
}

/** Registers `cardio keys new|show`. */
export function registerKeys(program: Command): void {
  const keys = program.command("keys").description("create and inspect key files");
  keys
    .command("new")
    .description("create a new random Ed25519 key file (mode 0600) and print its address")
    .addOption(option("--out <file>", `where to write the key (default ${DEFAULT_KEY_FILE})`))
    .addOption(option("--force", "overwrite an existing key file (its key is lost)"))
    .addOption(jsonOption())
    .action(keysNew);
  keys
    .command("show")
    .description("print the address and public key of a key file")
    .addOption(keyOption("key file to show"))
    .addOption(jsonOption())
    .action(keysShow);
}
