import { type ChainStore, createChainStore, createMemoryKvStore } from "../../src/storage/index.js";

/** An in-memory chain store whose block writes can be held pending (`hold`/`release`) or made to fail (`fail`). */
export interface ControlledStore {
  store: ChainStore;
  /** The store underneath, which held writes have not reached: what a crash would leave. */
  inner: ChainStore;
  /** Block writes from now on wait until `release()`: the moment between import and persistence. */
  hold(): void;
  release(): void;
  /** While on, block writes throw ("disk full"). */
  fail(on: boolean): void;
}

export function controlledStore(): ControlledStore {
  const inner = createChainStore(createMemoryKvStore());
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  let failing = false;
  const store: ChainStore = {
    ...inner,
    async putBlock(block, update) {
      if (gate !== undefined) await gate;
      if (failing) throw new Error("disk full");
      return inner.putBlock(block, update);
    },
  };
  return {
    store,
    inner,
    hold() {
      gate = new Promise((r) => {
        open = r;
      });
    },
    release() {
      gate = undefined;
      open?.();
    },
    fail(on: boolean) {
      failing = on;
    },
  };
}
