/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /** Tokens added to each bucket per second. Default 50. */
  ratePerSecond?: number;
  /** Bucket capacity: how many tokens may be spent back to back. Default 100. */
  burst?: number;
  /**
   * Buckets kept before full, idle ones are dropped, which bounds memory when many peers come and
   * go. Default 10 000.
   */
  maxBuckets?: number;
  /** Clock in milliseconds; injectable for tests. Default `performance.now`. */
  now?: () => number;
}

/**
 * A token bucket per key (the request/response layer keeps one per peer and protocol for requests,
 * and one for response bytes). Tokens are a cost unit of the caller's choosing: one request, one byte.
 */
export interface RateLimiter {
  /**
   * Takes `cost` tokens (default 1) from `key`'s bucket if it holds that many; otherwise takes
   * nothing and returns false.
   */
  take(key: string, cost?: number): boolean;
  /**
   * Charges `cost` tokens after the fact, for work whose cost is known only once done (the bytes of a
   * response). The bucket may go negative: the key is then in debt, and `tokens` stays at or below 0
   * until the refill has paid it back.
   */
  charge(key: string, cost: number): void;
  /** Tokens in `key`'s bucket now: `burst` for a key never seen (or refilled), negative while in debt. */
  tokens(key: string): number;
  /** Number of buckets currently held. */
  size(): number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Creates a token-bucket rate limiter; a new key starts with a full bucket. */
export function createRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  const ratePerSecond = options.ratePerSecond ?? 50;
  const burst = options.burst ?? 100;
  const maxBuckets = options.maxBuckets ?? 10_000;
  const now = options.now ?? (() => performance.now());
  if (!(ratePerSecond >= 0) || !(burst >= 1) || !(maxBuckets >= 1)) {
    throw new RangeError("rate limiter needs ratePerSecond >= 0, burst >= 1 and maxBuckets >= 1");
  }
  const buckets = new Map<string, Bucket>();

  function refill(bucket: Bucket, at: number): void {
    bucket.tokens = Math.min(burst, bucket.tokens + ((at - bucket.updatedAt) / 1000) * ratePerSecond);
    bucket.updatedAt = at;
  }

  function prune(at: number): void {
    // A full bucket carries no information: dropping it is the same as recreating it later.
    for (const [key, bucket] of buckets) {
      refill(bucket, at);
      if (bucket.tokens >= burst) buckets.delete(key);
    }
  }

  /** The key's bucket, refilled up to now; created full when missing. */
  function bucketOf(key: string): Bucket {
    const at = now();
    let bucket = buckets.get(key);
    if (bucket === undefined) {
      if (buckets.size >= maxBuckets) prune(at);
      bucket = { tokens: burst, updatedAt: at };
      buckets.set(key, bucket);
    } else {
      refill(bucket, at);
    }
    return bucket;
  }

  function checkCost(cost: number): void {
    if (!(cost >= 0) || !Number.isFinite(cost))
      throw new RangeError(`rate limiter cost must be >= 0, got ${cost}`);
  }

  return {
    take(key, cost = 1) {
      checkCost(cost);
      const bucket = bucketOf(key);
      if (bucket.tokens < cost) return false;
      bucket.tokens -= cost;
      return true;
    },
    charge(key, cost) {
      checkCost(cost);
      bucketOf(key).tokens -= cost;
    },
    tokens(key) {
      const bucket = buckets.get(key);
      if (bucket === undefined) return burst;
      refill(bucket, now());
      return bucket.tokens;
    },
    size: () => buckets.size,
  };
}
