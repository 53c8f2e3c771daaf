/**
 * Shared pieces of the fuzz tests (core and node): how many cases to run, which seed, and byte
 * arbitraries that mutate valid encodings (bit flips, byte overwrites, truncation, extension,
 * insertion, deletion, splices of two valid encodings, "interesting" length values).
 *
 * Counts come from the environment so `npm test` stays quick and `npm run test:fuzz` goes long:
 * - `FUZZ_RUNS`: cases per in-process target (decoders). Default {@link DEFAULT_RUNS}.
 * - `FUZZ_NET_RUNS`: real messages per network target (gossip topic, req/resp protocol, API route
 *   group). Default: `FUZZ_RUNS / 20`, at least {@link DEFAULT_NET_RUNS}.
 * - `FUZZ_SEED`: base seed; each target derives its own from it and its name, so a failure
 *   reproduces with the same `FUZZ_SEED` (fast-check prints the seed and path on failure).
 */
import fc from "fast-check";

export const DEFAULT_RUNS = 3000;
export const DEFAULT_NET_RUNS = 600;

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}

/** Cases per in-process target. */
export function fuzzRuns(): number {
  return envInt("FUZZ_RUNS") ?? DEFAULT_RUNS;
}

/** Real messages per network target. */
export function netRuns(): number {
  const explicit = envInt("FUZZ_NET_RUNS");
  if (explicit !== undefined) return explicit;
  const runs = envInt("FUZZ_RUNS");
  return runs === undefined ? DEFAULT_NET_RUNS : Math.max(DEFAULT_NET_RUNS, Math.floor(runs / 20));
}

/** The seed of target `name`: stable for a given `FUZZ_SEED` (default 20251126). */
export function fuzzSeed(name: string): number {
  const base = envInt("FUZZ_SEED") ?? 20251126;
  let h = base | 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x9e3779b1) | 0;
  return h;
}

/** fast-check parameters of target `name` with `numRuns` cases (seed fixed, printed on failure). */
export function fuzzParams(name: string, numRuns: number): fc.Parameters<unknown> {
  return { numRuns, seed: fuzzSeed(name), endOnFailure: true };
}

/** One edit of a byte string. Positions are fractions of the length, so one edit fits any input. */
export type Mutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "set"; at: number; value: number }
  | { op: "truncate"; at: number }
  | { op: "extend"; bytes: Uint8Array }
  | { op: "insert"; at: number; bytes: Uint8Array }
  | { op: "delete"; at: number; length: number }
  | { op: "u32"; at: number; value: number }
  | { op: "duplicate"; at: number; length: number };

/** Values that make length and count fields lie in interesting ways. */
const INTERESTING_U32 = [
  0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
];

/** A position as a fraction of the length, uniform (fast-check's bias would pile edits at both ends). */
const frac = fc.noBias(fc.integer({ min: 0, max: 0xffff })).map((n) => n / 0x10000);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  {
    arbitrary: fc.record({ op: fc.constant("flip" as const), at: frac, bit: fc.integer({ min: 0, max: 7 }) }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("set" as const),
      at: frac,
      value: fc.integer({ min: 0, max: 255 }),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ op: fc.constant("truncate" as const), at: frac }), weight: 3 },
  {
    arbitrary: fc.record({
      op: fc.constant("extend" as const),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("insert" as const),
      at: frac,
      bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("delete" as const),
      at: frac,
      length: fc.integer({ min: 1, max: 40 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("u32" as const),
      at: frac,
      value: fc.constantFrom(...INTERESTING_U32),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("duplicate" as const),
      at: frac,
      length: fc.integer({ min: 1, max: 64 }),
    }),
    weight: 1,
  },
);

/** Applies one mutation (never modifies `bytes`). */
export function applyMutation(bytes: Uint8Array, m: Mutation): Uint8Array {
  const n = bytes.length;
  const pos = (f: number, len = n) => Math.min(len, Math.floor(f * (len + 1)));
  switch (m.op) {
    case "flip": {
      if (n === 0) return bytes;
      const out = bytes.slice();
      const i = Math.min(n - 1, Math.floor(m.at * n));
      out[i] = out[i]! ^ (1 << m.bit);
      return out;
    }
    case "set": {
      if (n === 0) return Uint8Array.of(m.value);
      const out = bytes.slice();
      out[Math.min(n - 1, Math.floor(m.at * n))] = m.value;
      return out;
    }
    case "truncate":
      return bytes.slice(0, Math.floor(m.at * n));
    case "extend":
      return concat(bytes, m.bytes);
    case "insert": {
      const i = pos(m.at);
      return concat(bytes.subarray(0, i), m.bytes, bytes.subarray(i));
    }
    case "delete": {
      const i = pos(m.at);
      return concat(bytes.subarray(0, i), bytes.subarray(Math.min(n, i + m.length)));
    }
    case "u32": {
      if (n < 4) return bytes;
      const out = bytes.slice();
      const i = Math.min(n - 4, Math.floor(m.at * (n - 3)));
      new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(i, m.value);
      return out;
    }
    case "duplicate": {
      const i = pos(m.at);
      const chunk = bytes.subarray(i, Math.min(n, i + m.length));
      return concat(bytes.subarray(0, i), chunk, chunk, bytes.subarray(i + chunk.length));
    }
  }
}

export function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out = bytes;
  for (const m of mutations) out = applyMutation(out, m);
  return out;
}

/** A prefix of `a` followed by a suffix of `b`, cut at fractions `i` and `j`. */
export function splice(a: Uint8Array, b: Uint8Array, i: number, j: number): Uint8Array {
  return concat(a.subarray(0, Math.floor(i * (a.length + 1))), b.subarray(Math.floor(j * (b.length + 1))));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Where a fuzzed input came from, to report how each target's cases were made. */
export type Origin = "random" | "mutated" | "spliced" | "valid";

/**
 * Hostile inputs built from a corpus of valid encodings: random bytes (any length up to
 * `maxRandom`), one to four mutations of a valid encoding, a splice of two valid encodings (then
 * maybe mutated), or a valid encoding untouched (so the decoder's success path is fuzzed too).
 */
export function hostileBytes(
  corpus: readonly Uint8Array[],
  maxRandom = 1024,
): fc.Arbitrary<{ origin: Origin; bytes: Uint8Array }> {
  if (corpus.length === 0) throw new Error("empty corpus");
  const pick = fc.integer({ min: 0, max: corpus.length - 1 });
  return fc.oneof(
    {
      arbitrary: fc
        .uint8Array({ maxLength: maxRandom })
        .map((bytes) => ({ origin: "random" as const, bytes })),
      weight: 2,
    },
    {
      arbitrary: fc
        .tuple(pick, fc.array(mutationArb, { minLength: 1, maxLength: 4 }))
        .map(([i, ms]) => ({ origin: "mutated" as const, bytes: mutate(corpus[i]!, ms) })),
      weight: 6,
    },
    {
      arbitrary: fc
        .tuple(pick, pick, frac, frac, fc.array(mutationArb, { maxLength: 2 }))
        .map(([a, b, i, j, ms]) => ({
          origin: "spliced" as const,
          bytes: mutate(splice(corpus[a]!, corpus[b]!, i, j), ms),
        })),
      weight: 2,
    },
    { arbitrary: pick.map((i) => ({ origin: "valid" as const, bytes: corpus[i]! })), weight: 1 },
  );
}

/** `count` values of `arb` drawn with a fixed seed (network fuzzers send them one by one). */
export function samples<T>(arb: fc.Arbitrary<T>, count: number, name: string): T[] {
  return fc.sample(arb, { numRuns: count, seed: fuzzSeed(name) });
}

/** Tallies of a fuzz run: inputs by origin and outcomes by name. */
export class Tally {
  readonly origins: Record<string, number> = {};
  readonly outcomes: Record<string, number> = {};
  total = 0;
  add(origin: string, outcome: string): void {
    this.total++;
    this.origins[origin] = (this.origins[origin] ?? 0) + 1;
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
  }
  toString(): string {
    const fmt = (r: Record<string, number>) =>
      Object.entries(r)
        .sort()
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");
    return `${this.total} inputs (${fmt(this.origins)}) → ${fmt(this.outcomes)}`;
  }
}

/** A test timeout for `runs` cases of about `msPerCase` each (never below vitest's 30 s default). */
export function fuzzTimeout(runs: number, msPerCase: number): number {
  return Math.max(30_000, Math.ceil(runs * msPerCase * 3));
}
