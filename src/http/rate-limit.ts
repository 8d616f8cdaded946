/** A quota of `quota` requests per `windowSeconds`, refilled continuously (a token bucket). */
export type RatePolicy = { name: string; quota: number; windowSeconds: number };

export type RateDecision = {
  allowed: boolean;
  /** Requests left right now. */
  remaining: number;
  /** Seconds until the bucket is full again (the draft's `t`). */
  resetSeconds: number;
  /** Seconds until the next request is allowed (0 when allowed). */
  retryAfterSeconds: number;
};

/** `fullAt`: when the bucket is full again, so pruning needs no policy. */
type Bucket = { tokens: number; at: number; fullAt: number };

/**
 * Token buckets in this process's memory: a request costs one map lookup and some arithmetic, no
 * timer and no database. The state is per process (README, "Rate limits"): with N processes a
 * credential can use up to N times its quota.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly now: () => number,
    private readonly maxBuckets = 100_000,
  ) {}

  take(key: string, policy: RatePolicy): RateDecision {
    const now = this.now();
    const perMs = policy.quota / (policy.windowSeconds * 1000);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxBuckets) this.prune(now);
      bucket = { tokens: policy.quota, at: now, fullAt: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(policy.quota, bucket.tokens + (now - bucket.at) * perMs);
      bucket.at = now;
    }
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    bucket.fullAt = now + (policy.quota - bucket.tokens) / perMs;
    return {
      allowed,
      remaining: Math.floor(bucket.tokens),
      resetSeconds: Math.ceil((bucket.fullAt - now) / 1000),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)),
    };
  }

  /**
   * Keeps memory bounded when many callers (IPs) come and go: buckets that would be full by now
   * are dropped (a new one starts full, so nothing changes for them), and if that is not enough
   * the oldest half goes.
   */
  private prune(now: number) {
    for (const [key, bucket] of this.buckets) if (bucket.fullAt <= now) this.buckets.delete(key);
    if (this.buckets.size < this.maxBuckets) return;
    let drop = this.buckets.size / 2;
    for (const key of this.buckets.keys()) {
      if (drop-- <= 0) break;
      this.buckets.delete(key);
    }
  }
}

/** The IETF httpapi rate-limit headers draft (draft-ietf-httpapi-ratelimit-headers-10). */
export function rateLimitHeaders(policy: RatePolicy, decision: RateDecision): Record<string, string> {
  return {
    'ratelimit-policy': `"${policy.name}";q=${policy.quota};w=${policy.windowSeconds}`,
    ratelimit: `"${policy.name}";r=${decision.remaining};t=${decision.resetSeconds}`,
  };
}
