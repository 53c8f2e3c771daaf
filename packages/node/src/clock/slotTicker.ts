import { type ChainConfig, slotAt, slotStart } from "@cardio/core";

/** Options of `createSlotTicker`. */
export interface SlotTickerOptions {
  config: Pick<ChainConfig, "genesisTime" | "slotMs">;
  /**
   * Called once at the start of each slot (never twice for one slot, slots skipped if late), with how
   * long after the slot's start the timer fired, in ms.
   */
  onSlot: (slot: number, lateMs: number) => void;
  /**
   * Called before `onSlot` when the timer woke so late that slots `from`..`to` passed without a tick
   * (default: nothing). Their winners had no chance to forge, so a node reports it.
   */
  onSkipped?: (from: number, to: number) => void;
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

  /**
   * Arms for the first slot not yet fired, from the clock reading `t` its caller decided on: read
   * again here, the clock may have crossed into that slot (timers fire up to a millisecond early), and
   * arming for the slot after it would skip a slot nobody is late for.
   */
  const arm = (t: number): void => {
    if (!running) return;
    const current = slotAt(opts.config, t);
    const next = lastFired < 0 ? Math.max(current + 1, 0) : Math.max(lastFired + 1, current);
    timer = setTimeout(tick, Math.max(0, slotStart(opts.config, next) - t));
  };
  const tick = (): void => {
    if (!running) return;
    const t = now();
    const slot = slotAt(opts.config, t);
    if (slot > lastFired) {
      // The first tick after start is wherever the clock is; only later gaps are slots missed.
      const skippedFrom = lastFired >= 0 && slot > lastFired + 1 ? lastFired + 1 : undefined;
      lastFired = slot;
      try {
        if (skippedFrom !== undefined) opts.onSkipped?.(skippedFrom, slot - 1);
        opts.onSlot(slot, t - slotStart(opts.config, slot));
      } finally {
        arm(now());
      }
      return;
    }
    arm(t);
  };

  return {
    start() {
      if (running) return;
      running = true;
      arm(now());
    },
    stop() {
      running = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    currentSlot: () => slotAt(opts.config, now()),
  };
}
