import { type SignedHeader, toHex } from "@cardio/core";
import type { Chain } from "./chain.js";

/** Options of `watchEquivocations`. */
export interface EquivocationWatchOptions {
  chain: Chain;
  /** Called once per offence with the two conflicting headers. */
  onEquivocation: (headerA: SignedHeader, headerB: SignedHeader) => void;
  /** Slots remembered behind the newest seen (default 1024); older offences are not reported. */
  window?: number;
}

/**
 * Watches validated blocks for two different ones by the same proposer in the same slot. Only blocks
 * that passed full validation are compared, so both headers carry valid signatures of the lottery
 * winner: exactly the proof an `evidence` transaction needs.
 */
export function watchEquivocations(opts: EquivocationWatchOptions): () => void {
  const window = opts.window ?? 1024;
  const seen = new Map<string, { header: SignedHeader; hash: string; reported: boolean }>();
  let newest = 0;
  return opts.chain.on("block", ({ node }) => {
    const header = node.block!.header;
    const key = `${toHex(header.proposer)}:${header.slot}`;
    const prior = seen.get(key);
    if (prior === undefined) {
      seen.set(key, { header, hash: node.hashHex, reported: false });
      if (header.slot > newest) {
        newest = header.slot;
        // Map iteration is insertion order, roughly slot order: drop from the front.
        for (const [k, v] of seen) {
          if (v.header.slot >= newest - window) break;
          seen.delete(k);
        }
      }
      return;
    }
    if (prior.hash === node.hashHex || prior.reported) return;
    prior.reported = true;
    opts.onEquivocation(prior.header, header);
  });
}
