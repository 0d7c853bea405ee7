import type { Distribution, Random } from './random';

/** A token bucket: `burst` tokens at most, refilled at `perSecond`. */
export interface BucketSpec {
  readonly burst: number;
  readonly perSecond: number;
}

const MINUTE = 60_000;

/**
 * EC2's request-rate buckets per account and region, each API action with its own bucket. Source: "Request throttling
 * for the Amazon EC2 API" (docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html), the figures the project
 * already keeps in lambdas/aws/rate-limiter.ts. Actions not listed use their category's bucket.
 */
export const EC2_REQUEST_BUCKETS: Readonly<Record<string, BucketSpec>> = {
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

/** Category buckets of the same page: non-mutating (Describe*, Get*, List*) and mutating actions. */
export const EC2_CATEGORY_BUCKETS: Readonly<Record<'nonMutating' | 'mutating', BucketSpec>> = {
  nonMutating: { burst: 100, perSecond: 20 },
  mutating: { burst: 50, perSecond: 5 },
};

/**
 * EC2's resource-rate buckets (same page, "Resource token limits"): instances launched, stopped and terminated,
 * counted per instance on top of the request bucket.
 */
export const EC2_RESOURCE_BUCKETS: Readonly<Record<string, BucketSpec>> = {
  RunInstances: { burst: 1000, perSecond: 2 },
  TerminateInstances: { burst: 1000, perSecond: 20 },
  StopInstances: { burst: 1000, perSecond: 20 },
};

/**
 * Parameter Store: GetParameter, GetParameters and GetParametersByPath share a default throughput of 40 transactions
 * per second ("AWS Systems Manager endpoints and quotas", docs.aws.amazon.com/general/latest/gr/ssm.html);
 * PutParameter allows 3 per second with standard throughput (AWS Support, quoted in
 * github.com/github-aws-runners/terraform-aws-github-runner/issues/2944; not in the published quotas).
 */
export const SSM_BUCKETS: Readonly<Record<string, BucketSpec>> = {
  read: { burst: 40, perSecond: 40 },
  PutParameter: { burst: 3, perSecond: 3 },
};

/**
 * SNS Publish per account and region: 30,000 per second in us-east-1, 9,000 in us-west-2 and eu-west-1, 1,500
 * elsewhere; CreateTopic and Subscribe 100 per second ("Amazon SNS endpoints and quotas",
 * docs.aws.amazon.com/general/latest/gr/sns.html).
 */
export function snsBucket(action: string, region: string): BucketSpec {
  if (action !== 'Publish') return { burst: 100, perSecond: 100 };
  const rate = region === 'us-east-1' ? 30_000 : region === 'us-west-2' || region === 'eu-west-1' ? 9_000 : 1_500;
  return { burst: rate, perSecond: rate };
}

/** What one boot of an image on an instance type does, relative to the instance's `running` time. */
export type BootOutcome = 'login' | 'slow-imds' | 'panic' | 'mountroot' | 'never';

/** Boot behaviour of the instances that match; later profiles override earlier ones field by field. */
export interface BootProfile {
  readonly match?: {
    readonly imageId?: string;
    /** Matched against the image name, e.g. /15\.0-CURRENT-arm64/. */
    readonly imageName?: RegExp;
    readonly instanceType?: string | RegExp;
    readonly architecture?: 'x86_64' | 'arm64';
  };
  /** running -> port 22 refused (network up). */
  readonly networkMs?: Distribution;
  /** port 22 refused -> accepted (sshd up). */
  readonly sshdMs?: Distribution;
  /** Multiplies both phases, e.g. 2 for a series that boots twice as slowly. */
  readonly slowdown?: number;
  /** Added to the sshd phase, e.g. an entropy wait. */
  readonly extraSshdMs?: number;
  readonly outcome?: BootOutcome;
  /** Attach/detach cycles after which a volume attachment never completes (IRQ exhaustion). */
  readonly hotplugLimit?: number;
  /** Milliseconds from StopInstances to `stopped`; an OS that ignores the ACPI power button is stopped by force later. */
  readonly stopMs?: Distribution;
}

/** Everything about AWS's pace and limits that the simulation models; `createAwsSim` fills in AWS's numbers. */
export interface Physics {
  /** Answer `RequestLimitExceeded` / `ThrottlingException` / `Throttled` when a bucket is empty. */
  readonly throttling: boolean;
  readonly ec2Buckets: Readonly<Record<string, BucketSpec>>;
  readonly ec2CategoryBuckets: Readonly<Record<'nonMutating' | 'mutating', BucketSpec>>;
  readonly ec2ResourceBuckets: Readonly<Record<string, BucketSpec>>;
  readonly ssmBuckets: Readonly<Record<string, BucketSpec>>;
  readonly snsBucket: (action: string, region: string) => BucketSpec;
  /** Per-call latency by service, overridden per operation; 0 turns latency off. */
  readonly latency: {
    readonly byService: Readonly<Record<string, Distribution>>;
    readonly byOperation: Readonly<Record<string, Distribution>>;
    /** Extra milliseconds per item a describe call returns. */
    readonly perResultMs: number;
  };
  readonly images: {
    /** Minutes a cross-region copy takes, before the region's factor. */
    readonly copyMinutes: Distribution;
    /** Multiplies copy durations in a region (a slow region: 3). */
    readonly copyRegionFactor: Readonly<Record<string, number>>;
    /** Share of copies that end `failed` instead of `available`. */
    readonly copyFailureRate: number;
    /** Copies in flight per destination region before CopyImage answers ResourceLimitExceeded. */
    readonly maxConcurrentCopies: number;
    /** Milliseconds a RegisterImage stays `pending`. */
    readonly registerMs: Distribution;
    /** Milliseconds a deregistered image is still listed (state `deregistered`). */
    readonly deregisteredVisibleMs: number;
    /** Public AMIs the account may own per region (Service Quotas L-0E3CBAB9). */
    readonly publicImageQuota: number | Readonly<Record<string, number>>;
    /** Image block public access of a new account's regions. */
    readonly blockPublicAccessDefault: 'unblocked' | 'block-new-sharing';
    /** Milliseconds Enable/DisableImageBlockPublicAccess take to apply. */
    readonly blockPublicAccessTransitionMs: Distribution;
  };
  readonly snapshots: {
    readonly blockPublicAccessDefault: 'unblocked' | 'block-new-sharing' | 'block-all-sharing';
  };
  readonly instances: {
    /** pending -> running. */
    readonly pendingMs: Distribution;
    /** shutting-down -> terminated. */
    readonly terminateMs: Distribution;
    /** Milliseconds a terminated instance is still listed. */
    readonly terminatedVisibleMs: number;
    /** Running vCPUs per quota bucket (`standard`, `g`, `p`, ...) before RunInstances answers VcpuLimitExceeded. */
    readonly vcpuLimits: Readonly<Record<string, number>>;
    /** Whether a launch of `instanceType` in `zone` at `at` finds no capacity (InsufficientInstanceCapacity). */
    readonly insufficientCapacity: (instanceType: string, zone: string, at: number, random: Random) => boolean;
    /** Instance types each zone does not offer (`Unsupported`), by zone name. */
    readonly unsupported: Readonly<Record<string, readonly string[]>>;
    /** Console output of non-Nitro types is captured this long after boot and every this long after. */
    readonly consoleCaptureMs: number;
  };
  readonly boot: {
    readonly networkMs: Distribution;
    readonly sshdMs: Distribution;
    /** Per-boot variation around the (image, type) base times, as a log-normal shape. */
    readonly jitterSigma: number;
    readonly stopMs: Distribution;
    readonly profiles: readonly BootProfile[];
  };
  readonly volumes: {
    readonly createMs: Distribution;
    readonly attachMs: Distribution;
    readonly detachMs: Distribution;
    readonly deleteMs: Distribution;
  };
  readonly ssm: {
    /** Milliseconds until an `aws:ec2:image` value is validated (and applied, or dropped). */
    readonly imageValidationMs: Distribution;
  };
}

/** A partial override of {@link Physics}, merged one level deep. */
export type PhysicsOverrides = {
  readonly [K in keyof Physics]?: Physics[K] extends (...args: never[]) => unknown
    ? Physics[K]
    : Physics[K] extends object
      ? Partial<Physics[K]>
      : Physics[K];
};

/** AWS's pace and limits, each number with its source. */
export const AWS_PHYSICS: Physics = {
  throttling: true,
  ec2Buckets: EC2_REQUEST_BUCKETS,
  ec2CategoryBuckets: EC2_CATEGORY_BUCKETS,
  ec2ResourceBuckets: EC2_RESOURCE_BUCKETS,
  ssmBuckets: SSM_BUCKETS,
  snsBucket,
  latency: {
    // Not published: typical round trips from a Lambda in the same region, tens of milliseconds for data-plane
    // services, about a hundred for EC2's control plane, longer for launches. Assumptions, to make many calls cost
    // virtual time.
    byService: {
      ec2: { lognormal: { median: 90, sigma: 0.35 }, min: 20, max: 2000 },
      ssm: { lognormal: { median: 25, sigma: 0.3 }, min: 5, max: 1000 },
      sns: { lognormal: { median: 30, sigma: 0.3 }, min: 5, max: 1000 },
      dynamodb: { lognormal: { median: 8, sigma: 0.3 }, min: 2, max: 500 },
      sts: { lognormal: { median: 25, sigma: 0.3 }, min: 5, max: 1000 },
      cloudwatch: { lognormal: { median: 20, sigma: 0.3 }, min: 5, max: 1000 },
      iam: { lognormal: { median: 60, sigma: 0.3 }, min: 10, max: 2000 },
    },
    byOperation: {
      RunInstances: { lognormal: { median: 1200, sigma: 0.3 }, min: 300, max: 6000 },
      CopyImage: { lognormal: { median: 400, sigma: 0.3 }, min: 100, max: 3000 },
      RegisterImage: { lognormal: { median: 600, sigma: 0.3 }, min: 100, max: 3000 },
    },
    perResultMs: 0.2,
  },
  images: {
    // "Cross-region copy time is best effort: minutes to hours" (CopyImage docs). A log-normal with a median of 15
    // minutes and a heavy tail, clipped to 5-75 minutes, matches the 5-60 minute copies FreeBSD sees weekly.
    copyMinutes: { lognormal: { median: 15, sigma: 0.6 }, min: 5, max: 75 },
    copyRegionFactor: {},
    copyFailureRate: 0,
    // "300 concurrent AMI copies per destination Region" (DESIGN.md, AWS AMI quotas); beyond it CopyImage answers
    // ResourceLimitExceeded, as snapshot copies do ("Too many snapshot copies in progress", aws-samples issues).
    maxConcurrentCopies: 300,
    registerMs: 0,
    // "Recently deregistered images appear in the returned results for a short interval" (DescribeImages docs);
    // the interval is not published: an hour, an assumption.
    deregisteredVisibleMs: 60 * MINUTE,
    // Service Quotas "Public AMIs" (L-0E3CBAB9): 5 per region by default; publishing accounts raise it.
    publicImageQuota: 5,
    // "Block public access for AMIs is on by default for new accounts" (DESIGN.md; EC2 user guide).
    blockPublicAccessDefault: 'block-new-sharing',
    // "The API can take up to 10 minutes to configure this setting" (Enable/DisableImageBlockPublicAccess docs).
    blockPublicAccessTransitionMs: 10 * MINUTE,
  },
  snapshots: { blockPublicAccessDefault: 'unblocked' },
  instances: {
    // ec2-boot-bench figures for FreeBSD: a few seconds pending, tens of seconds to sshd; assumptions around them.
    pendingMs: { lognormal: { median: 6000, sigma: 0.25 }, min: 2000, max: 30_000 },
    terminateMs: { lognormal: { median: 25_000, sigma: 0.3 }, min: 5000, max: 120_000 },
    // Terminated instances "remain visible ... for approximately one hour" (EC2 user guide, instance lifecycle).
    terminatedVisibleMs: 60 * MINUTE,
    // Quota L-1216C47A "Running On-Demand Standard instances" is set per account; 256 vCPUs is an assumption.
    vcpuLimits: { standard: 256 },
    insufficientCapacity: () => false,
    unsupported: {},
    // GetConsoleOutput: without Latest, "the output is posted shortly after an instance transition" and lags;
    // three minutes is an assumption.
    consoleCaptureMs: 3 * MINUTE,
  },
  boot: {
    networkMs: { lognormal: { median: 4000, sigma: 0.2 }, min: 1000, max: 60_000 },
    sshdMs: { lognormal: { median: 7000, sigma: 0.2 }, min: 1500, max: 120_000 },
    jitterSigma: 0.05,
    stopMs: { lognormal: { median: 8000, sigma: 0.2 }, min: 2000, max: 60_000 },
    profiles: [],
  },
  volumes: {
    createMs: { lognormal: { median: 2000, sigma: 0.3 }, min: 500, max: 20_000 },
    attachMs: { lognormal: { median: 2500, sigma: 0.3 }, min: 500, max: 20_000 },
    detachMs: { lognormal: { median: 3000, sigma: 0.3 }, min: 500, max: 30_000 },
    deleteMs: { lognormal: { median: 1500, sigma: 0.3 }, min: 200, max: 10_000 },
  },
  ssm: {
    // "The aws:ec2:image value is validated asynchronously" (PutParameter docs); the delay is not published.
    imageValidationMs: { uniform: [1000, 5000] },
  },
};

/**
 * Physics off: the emulator's world, for comparing the model with moto. Nothing is throttled, nothing takes time,
 * copies are available at once, deregistered images vanish at once, nothing blocks public sharing, no quota.
 */
export const NO_PHYSICS: Physics = {
  ...AWS_PHYSICS,
  throttling: false,
  latency: { byService: {}, byOperation: {}, perResultMs: 0 },
  images: {
    ...AWS_PHYSICS.images,
    copyMinutes: 0,
    copyFailureRate: 0,
    maxConcurrentCopies: Number.POSITIVE_INFINITY,
    registerMs: 0,
    deregisteredVisibleMs: 0,
    publicImageQuota: Number.POSITIVE_INFINITY,
    blockPublicAccessDefault: 'unblocked',
    blockPublicAccessTransitionMs: 0,
  },
  instances: {
    ...AWS_PHYSICS.instances,
    pendingMs: 0,
    terminateMs: 0,
    vcpuLimits: {},
    consoleCaptureMs: 0,
  },
  boot: { ...AWS_PHYSICS.boot, networkMs: 0, sshdMs: 0, jitterSigma: 0, stopMs: 0 },
  volumes: { createMs: 0, attachMs: 0, detachMs: 0, deleteMs: 0 },
  ssm: { imageValidationMs: 0 },
};

/** `base` with `overrides` applied one level deep. */
export function withOverrides(base: Physics, overrides: PhysicsOverrides = {}): Physics {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const current = (base as unknown as Record<string, unknown>)[key];
    merged[key] =
      typeof value === 'object' && !Array.isArray(value) && typeof current === 'object' && current !== null
        ? { ...current, ...value }
        : value;
  }
  return merged as unknown as Physics;
}
