import type { AwsErrorSpec } from './errors';
import type { BucketSpec, Physics } from './physics';
import { getOrCreate } from './world';

/** A server-side token bucket: full at first, refilled continuously, never above its burst. */
class Bucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly spec: BucketSpec,
    now: number,
  ) {
    this.tokens = spec.burst;
    this.updatedAt = now;
  }

  private refill(now: number): void {
    if (now > this.updatedAt) {
      this.tokens = Math.min(this.spec.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.spec.perSecond);
      this.updatedAt = now;
    }
  }

  has(now: number, amount: number): boolean {
    this.refill(now);
    return this.tokens >= amount;
  }

  take(amount: number): void {
    this.tokens -= amount;
  }
}

/** Why a call was throttled: the bucket it found empty and the error the service answers with. */
export interface Throttle {
  readonly bucket: string;
  readonly error: AwsErrorSpec;
}

// "If you exceed an API throttling limit, you get the RequestLimitExceeded error code" (EC2 throttling docs), with
// HTTP 503 as EC2 sends it.
const EC2_THROTTLED: AwsErrorSpec = { code: 'RequestLimitExceeded', message: 'Request limit exceeded.', status: 503 };
// "ThrottlingException ... Rate exceeded" (Parameter Store troubleshooting, AWS re:Post knowledge center).
const SSM_THROTTLED: AwsErrorSpec = { code: 'ThrottlingException', message: 'Rate exceeded', status: 400 };
// SNS "ThrottledException ... HTTP Status Code: 429", error code Throttled (Publish API reference).
const SNS_THROTTLED: AwsErrorSpec = { code: 'Throttled', message: 'Rate exceeded', status: 429 };

/** Each account's buckets, per service, region and action, as each service throttles. */
export class Throttles {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly physics: () => Physics) {}

  private bucket(key: string, spec: BucketSpec, now: number): Bucket {
    return getOrCreate(this.buckets, key, () => new Bucket(spec, now));
  }

  /** Takes the call's tokens, or says which bucket is empty. */
  admit(
    service: string,
    region: string,
    operation: string,
    input: Record<string, unknown>,
    now: number,
  ): Throttle | undefined {
    const physics = this.physics();
    if (!physics.throttling) return undefined;
    const wanted: { name: string; spec: BucketSpec; amount: number }[] = [];
    let error: AwsErrorSpec;
    switch (service) {
      case 'ec2': {
        const category = /^(Describe|Get|List|Search)/.test(operation) ? 'nonMutating' : 'mutating';
        wanted.push({
          name: operation,
          spec: physics.ec2Buckets[operation] ?? physics.ec2CategoryBuckets[category],
          amount: 1,
        });
        const resource = physics.ec2ResourceBuckets[operation];
        if (resource) {
          const ids = input.InstanceIds as unknown[] | undefined;
          const amount = operation === 'RunInstances' ? Number(input.MaxCount ?? 1) : (ids?.length ?? 1);
          wanted.push({ name: `${operation}:resource`, spec: resource, amount });
        }
        error = EC2_THROTTLED;
        break;
      }
      case 'ssm': {
        const name = physics.ssmBuckets[operation] ? operation : 'read';
        wanted.push({ name, spec: physics.ssmBuckets[name]!, amount: 1 });
        error = SSM_THROTTLED;
        break;
      }
      case 'sns':
        wanted.push({ name: operation, spec: physics.snsBucket(operation, region), amount: 1 });
        error = SNS_THROTTLED;
        break;
      default:
        return undefined;
    }
    const buckets = wanted.map((w) => ({ ...w, bucket: this.bucket(`${service}/${region}/${w.name}`, w.spec, now) }));
    const empty = buckets.find((b) => !b.bucket.has(now, b.amount));
    if (empty) return { bucket: empty.name, error };
    for (const b of buckets) b.bucket.take(b.amount);
    return undefined;
  }
}
