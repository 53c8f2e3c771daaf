import type { ApiClient } from "./apiClient.js";
import { readSlotEvent } from "./apiViews.js";
import { formatMissedSlot, formatSlotEvent } from "./format.js";

/** Wait before reconnecting to a node's event stream. */
const RECONNECT_MS = 2000;

/**
 * Prints, through `print`, the winner of each slot as the node announces it on `GET /events`,
 * like the tutorial's server announcing each winner. Reconnects when the stream drops (a node
 * restart must not end the session) and says so once per outage. Resolves when `signal` aborts.
 */
export async function followSlots(
  client: ApiClient,
  me: string,
  print: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  let down = false;
  while (!signal.aborted) {
    try {
      for await (const ev of client.events(signal)) {
        if (down) print(`(event stream of ${client.baseUrl} is back)`);
        down = false;
        const line = describeEvent(ev.event, ev.data, me);
        if (line !== undefined) print(line);
      }
    } catch (err) {
      if (!down)
        print(`(no slot announcements: ${err instanceof Error ? err.message : String(err)}; retrying)`);
      down = true;
    }
    await sleep(RECONNECT_MS, signal);
  }
}

/** The line for one event, or undefined for events not shown (head, block, unknown kinds). */
function describeEvent(kind: string, data: string, me: string): string | undefined {
  if (kind !== "slot" && kind !== "missedSlot") return undefined;
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return undefined;
  }
  const e = readSlotEvent(json);
  if (e === undefined) return undefined;
  return kind === "slot" ? formatSlotEvent(e, me) : formatMissedSlot(e.slot, e.winner, me);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
