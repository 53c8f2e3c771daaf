import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const alias = {
  // Tests run against the TypeScript sources, so `npm test` needs no prior build.
  "@cardio/core": fileURLToPath(new URL("./packages/core/src/index.ts", import.meta.url)),
};

export default defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    projects: [
      {
        resolve: { alias },
        test: {
          name: "unit",
          include: ["packages/*/test/**/*.test.ts"],
          testTimeout: 30_000,
          hookTimeout: 30_000,
          pool: "forks",
        },
      },
      {
        resolve: { alias },
        test: {
          name: "network",
          include: ["test/**/*.test.ts"],
          // Multi-node tests run real libp2p nodes on a 2-core machine: one file at a time, so slot
          // timing in one test is not starved by another.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 60_000,
          pool: "forks",
        },
      },
    ],
  },
});
