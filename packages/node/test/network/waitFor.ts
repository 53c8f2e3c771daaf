/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this many ms. Default 5 000. */
  timeoutMs?: number;
  /** Poll period in ms. Default 20. */
  intervalMs?: number;
  /** Shown in the timeout error. */
  message?: string;
}

/**
 * Polls `predicate` until it returns true (or a truthy promise), failing after a deadline. Tests
 * wait on conditions rather than sleeping, so they are as fast as the network and fail loudly
 * instead of flaking when it is slow.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  options: WaitForOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const intervalMs = options.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (true) {
    try {
      if (await predicate()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const what = options.message ?? "condition";
      throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
