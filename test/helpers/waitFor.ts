/** Polls `predicate` until it is truthy or the deadline passes; never a fixed sleep. */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  const interval = opts.intervalMs ?? 50;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await predicate();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(
    `timed out after ${opts.timeoutMs ?? 20_000} ms waiting for ${opts.what ?? "condition"}${last === undefined ? "" : `: ${String(last)}`}`,
  );
}
