/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /** Tokens added to each bucket per second. Default 50. */
  ratePerSecond?: number;
  /** Bucket capacity: how many requests may arrive back to back. Default 100. */
  burst?: number;
  /**
   * Buckets kept before full, idle ones are dropped, which bounds memory when many peers come and
   * go. Default 10 000.
   */
  maxBuckets?: number;
  /** Clock in milliseconds; injectable for tests. Default `performance.now`. */
  now?: () => number;
}

/** A token bucket per key (the request/response layer uses one per peer and protocol). */
export interface RateLimiter {
  /** Takes one token from `key`'s bucket; false when the bucket is empty. */
  take(key: string): boolean;
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

  return {
    take(key) {
      const at = now();
      let bucket = buckets.get(key);
      if (bucket === undefined) {
        if (buckets.size >= maxBuckets) prune(at);
        bucket = { tokens: burst, updatedAt: at };
        buckets.set(key, bucket);
      } else {
        refill(bucket, at);
      }
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
      return true;
    },
    size: () => buckets.size,
  };
}
