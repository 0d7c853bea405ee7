import { type Clock, realClock } from '../shared/invocation';

/** Sustained rate and burst of one EC2 API action's token bucket, per account and region. */
export interface BucketSpec {
  readonly burst: number;
  readonly perSecond: number;
}

/** AWS's published EC2 request-token buckets for the actions the pipeline calls. */
export const EC2_THROTTLE_BUCKETS: Readonly<Record<string, BucketSpec>> = {
  nonMutating: { burst: 100, perSecond: 20 },
  CopyImage: { burst: 100, perSecond: 1 },
  DeregisterImage: { burst: 100, perSecond: 5 },
  DeleteSnapshot: { burst: 100, perSecond: 5 },
  ModifyImageAttribute: { burst: 100, perSecond: 5 },
  ModifySnapshotAttribute: { burst: 100, perSecond: 5 },
  CreateTags: { burst: 100, perSecond: 10 },
  RunInstances: { burst: 5, perSecond: 2 },
  EnableImageBlockPublicAccess: { burst: 1, perSecond: 0.1 },
  DisableImageBlockPublicAccess: { burst: 1, perSecond: 0.1 },
  EnableImageDeprecation: { burst: 100, perSecond: 5 },
};

export { type Clock, realClock } from '../shared/invocation';

/**
 * Client-side token bucket. Staying under AWS's own bucket avoids RequestLimitExceeded storms that would also
 * starve other tools in the account; SDK retries remain the second line of defence.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly spec: BucketSpec,
    private readonly clock: Clock = realClock,
  ) {
    this.tokens = spec.burst;
    this.updatedAt = clock.now();
  }

  /** Resolves when one token is available and takes it; callers are served in order. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.waitForToken());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Spends every token: the account's own bucket is known to be empty. */
  drain(): void {
    this.refill();
    this.tokens = Math.min(this.tokens, 0);
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.spec.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.spec.perSecond);
    this.updatedAt = now;
  }

  private async waitForToken(): Promise<void> {
    this.refill();
    while (this.tokens < 1) {
      await this.clock.sleep(Math.ceil(((1 - this.tokens) / this.spec.perSecond) * 1000));
      this.refill();
    }
    this.tokens -= 1;
  }
}

/** One bucket per (region, action), so regions never slow each other down. */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly specs: Readonly<Record<string, BucketSpec>> = EC2_THROTTLE_BUCKETS,
    private readonly clock: Clock = realClock,
  ) {}

  /** Waits for a token of `action` in `region`; unknown actions use the non-mutating bucket. */
  take(region: string, action: string): Promise<void> {
    return this.bucket(region, action).take();
  }

  /**
   * Starts `action`'s bucket in `region` empty: for work that follows other work which spent the account's bucket
   * (a resumed batch), where a full burst would only be throttled by AWS and retried.
   */
  drain(region: string, action: string): void {
    this.bucket(region, action).drain();
  }

  private bucket(region: string, action: string): TokenBucket {
    const spec = this.specs[action] ?? this.specs.nonMutating ?? EC2_THROTTLE_BUCKETS.nonMutating!;
    const key = `${region}:${this.specs[action] ? action : 'nonMutating'}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(spec, this.clock);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  /** Milliseconds between two calls of `action` at its bucket's sustained rate (0 when the rate is unbounded). */
  intervalMs(action: string): number {
    const spec = this.specs[action] ?? this.specs.nonMutating ?? EC2_THROTTLE_BUCKETS.nonMutating!;
    return Number.isFinite(spec.perSecond) && spec.perSecond > 0 ? 1000 / spec.perSecond : 0;
  }

  /** Runs `call` once a token is available. */
  async run<T>(region: string, action: string, call: () => Promise<T>): Promise<T> {
    await this.take(region, action);
    return call();
  }
}

/** A limiter that never waits, for the emulator and unit tests. */
export const unlimited = new RateLimiter(
  { nonMutating: { burst: Number.POSITIVE_INFINITY, perSecond: Number.POSITIVE_INFINITY } },
  realClock,
);
