/** Writes lines to stdout. One place, so every command prints the same way. */
export function println(...lines: string[]): void {
  for (const line of lines) process.stdout.write(`${line}\n`);
}

/** Writes a warning or note to stderr, keeping stdout for results a script may parse. */
export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** JSON with BigInt amounts as decimal strings, as the API and genesis.json write them. */
export function printJson(value: unknown): void {
  println(JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2));
}
