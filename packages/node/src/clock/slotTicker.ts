import { type ChainConfig, slotAt, slotStart } from "@cardio/core";

/** Options of `createSlotTicker`. */
export interface SlotTickerOptions {
  config: Pick<ChainConfig, "genesisTime" | "slotMs">;
  /** Called once at the start of each slot (never twice for one slot, slots skipped if late). */
  onSlot: (slot: number) => void;
  /** Wall clock in ms (default `Date.now`); tests pass their own. */
  now?: () => number;
}

/** A timer that fires at each slot boundary of the chain's clock. */
export interface SlotTicker {
  start(): void;
  stop(): void;
  /** The slot the clock is in now (-1 before genesis). */
  currentSlot(): number;
}

/**
 * Fires `onSlot` at each slot start. Re-arms from the clock every time rather than by adding
 * `slotMs`, so timer drift never accumulates; a wake-up that is late skips to the current slot.
 */
export function createSlotTicker(opts: SlotTickerOptions): SlotTicker {
  const now = opts.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let lastFired = -1;

  const arm = (): void => {
    if (!running) return;
    const t = now();
    const next = Math.max(slotAt(opts.config, t) + 1, 0);
    timer = setTimeout(tick, Math.max(0, slotStart(opts.config, next) - t));
  };
  const tick = (): void => {
    if (!running) return;
    const slot = slotAt(opts.config, now());
    if (slot > lastFired) {
      lastFired = slot;
      try {
        opts.onSlot(slot);
      } finally {
        arm();
      }
      return;
    }
    arm();
  };

  return {
    start() {
      if (running) return;
      running = true;
      arm();
    },
    stop() {
      running = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    currentSlot: () => slotAt(opts.config, now()),
  };
}
