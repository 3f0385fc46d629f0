/**
 * A token bucket per client: `burst` requests at once, refilled at `perSecond`. The page sends a
 * request per pause in typing; a script hammering the server gets 429s instead of the CPU.
 */
export interface RateLimiter {
  /** Whether a request from `client` at `now` (ms) may go ahead; takes a token when it may. */
  readonly take: (client: string, now: number) => boolean
}

export const tokenBuckets = (options: { readonly perSecond: number; readonly burst: number; readonly maxClients?: number }): RateLimiter => {
  const buckets = new Map<string, { tokens: number; at: number }>()
  const maxClients = options.maxClients ?? 10_000
  return {
    take: (client, now) => {
      const bucket = buckets.get(client) ?? { tokens: options.burst, at: now }
      bucket.tokens = Math.min(options.burst, bucket.tokens + ((now - bucket.at) / 1000) * options.perSecond)
      bucket.at = now
      // Forget the oldest client rather than grow without bound (a Map iterates in insertion order).
      if (!buckets.has(client) && buckets.size >= maxClients) {
        const oldest = buckets.keys().next().value
        if (oldest !== undefined) buckets.delete(oldest)
      }
      buckets.set(client, bucket)
      if (bucket.tokens < 1) return false
      bucket.tokens -= 1
      return true
    }
  }
}
