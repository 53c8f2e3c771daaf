import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { KvOperation, KvRange, KvStore } from "../../src/storage/kvStore.js";
import { collect, hex, levelFixture, memoryFixture } from "./fixtures.js";

// Few distinct byte values and short keys, so random operations keep hitting the same keys, prefixes and
// range boundaries; 0x7f/0x80/0xff catch signed-versus-unsigned ordering mistakes.
const keyArb = fc
  .array(fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff), { maxLength: 3 })
  .map((a) => Uint8Array.from(a));
const valueArb = fc.uint8Array({ maxLength: 4 });

const opArb: fc.Arbitrary<KvOperation> = fc.oneof(
  fc.record({ type: fc.constant("put" as const), key: keyArb, value: valueArb }),
  fc.record({ type: fc.constant("del" as const), key: keyArb }),
);

const rangeArb: fc.Arbitrary<KvRange> = fc.record(
  { gte: keyArb, lt: keyArb, reverse: fc.boolean(), limit: fc.nat({ max: 6 }) },
  { requiredKeys: [] },
);

type Command =
  | { kind: "batch"; ops: KvOperation[] }
  | { kind: "get"; key: Uint8Array }
  | { kind: "iterate"; range: KvRange }
  | { kind: "reopen" };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("batch" as const), ops: fc.array(opArb, { maxLength: 6 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("get" as const), key: keyArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("iterate" as const), range: rangeArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: "reopen" as const }) },
);

/** Runs the commands and records every observable result as plain strings. */
async function observe(
  fixtureFactory: typeof memoryFixture,
  commands: readonly Command[],
): Promise<Array<string | undefined | string[]>> {
  const fixture = await fixtureFactory();
  let store: KvStore = fixture.store;
  const seen: Array<string | undefined | string[]> = [];
  try {
    for (const command of commands) {
      switch (command.kind) {
        case "batch":
          await store.batch(command.ops);
          break;
        case "get":
          seen.push(hex(await store.get(command.key)));
          break;
        case "iterate":
          seen.push((await collect(store.iterate(command.range))).map(([k, v]) => `${hex(k)}=${hex(v)}`));
          break;
        case "reopen":
          store = await fixture.reopen();
          break;
      }
    }
    seen.push((await collect(store.iterate())).map(([k, v]) => `${hex(k)}=${hex(v)}`));
  } finally {
    await fixture.cleanup();
  }
  return seen;
}

describe("memory store and LevelDB store", () => {
  it("agree on every get and iteration after random batches", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 25 }), async (commands) => {
        const [memory, level] = await Promise.all([
          observe(memoryFixture, commands),
          observe(levelFixture, commands),
        ]);
        expect(memory).toEqual(level);
      }),
      { numRuns: 60 },
    );
  });
});
