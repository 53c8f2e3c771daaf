/**
 * Polls `predicate` until it is truthy or the deadline passes; never a fixed sleep. `what` names the
 * condition in the timeout error; a function is called at the deadline, to report the state then.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string | (() => string) } = {},
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
  const what = typeof opts.what === "function" ? opts.what() : (opts.what ?? "condition");
  throw new Error(
    `timed out after ${opts.timeoutMs ?? 20_000} ms waiting for ${what}${last === undefined ? "" : `: ${String(last)}`}`,
  );
}
