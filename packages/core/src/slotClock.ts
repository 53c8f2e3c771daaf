import type { ChainConfig } from "./types.js";

/** The slot containing time `ms` (slot s covers [genesisTime + s·slotMs, genesisTime + (s+1)·slotMs)); -1 before genesis. */
export function slotAt(config: Pick<ChainConfig, "genesisTime" | "slotMs">, ms: number): number {
  if (ms < config.genesisTime) return -1;
  return Math.floor((ms - config.genesisTime) / config.slotMs);
}

/** Start time in ms of `slot`. */
export function slotStart(config: Pick<ChainConfig, "genesisTime" | "slotMs">, slot: number): number {
  return config.genesisTime + slot * config.slotMs;
}
