import { COMMERCIAL_REGIONS, type RegionInfo } from './catalog';

// Captured when the module loads, before any virtual-time run fakes Date: formatting a moment needs no clock, and the
// native constructor is much cheaper than the fake one for the hundreds of thousands of dates a listing returns.
const NativeDate = Date;

/** A moment as a Date (native, and still `instanceof Date` under fake timers). */
export function dateAt(ms: number): Date {
  return new NativeDate(ms);
}

/** A moment in ISO 8601, as EC2 writes CreationDate. */
export function isoAt(ms: number): string {
  return new NativeDate(ms).toISOString();
}
import type { SimCounters } from './counters';
import type { Physics } from './physics';
import { type Distribution, draw, hashString, Random } from './random';

/** One block device of an image: a snapshot, or an empty volume of a size. */
export interface SimMapping {
  readonly deviceName: string;
  readonly snapshotId?: string;
  readonly volumeSize: number;
  readonly volumeType: string;
  readonly encrypted: boolean;
  readonly deleteOnTermination: boolean;
}

export type ImageState = 'pending' | 'available' | 'failed' | 'deregistered';

/** An AMI in one region. Its state is a function of time: pending until `availableAt` (or `failedAt`). */
export interface SimImage {
  readonly imageId: string;
  readonly region: string;
  readonly ownerId: string;
  readonly seq: number;
  name: string;
  description?: string;
  readonly architecture: string;
  readonly rootDeviceName: string;
  readonly virtualizationType: string;
  readonly enaSupport: boolean;
  readonly bootMode?: string;
  readonly imdsSupport?: string;
  readonly mappings: SimMapping[];
  readonly tags: Map<string, string>;
  public: boolean;
  /** When the image was last made public (time until public is what publishing is measured by). */
  publicAt?: number;
  /** Accounts the image is shared with (rare: allocated on first use). */
  launchUserIds?: Set<string>;
  readonly createdAt: number;
  readonly availableAt: number;
  readonly failedAt?: number;
  readonly failure?: { readonly code: string; readonly message: string };
  deregisteredAt?: number;
  deprecationTime?: string;
  readonly sourceImageId?: string;
  readonly sourceRegion?: string;
  /** Set for images made by CopyImage, which count against the concurrent-copy limit while pending. */
  readonly copy: boolean;
  lastLaunchedAt?: number;
}

export type SnapshotState = 'pending' | 'completed' | 'error';

/** An EBS snapshot in one region. */
export interface SimSnapshot {
  readonly snapshotId: string;
  readonly region: string;
  readonly ownerId: string;
  readonly seq: number;
  readonly volumeSize: number;
  readonly fullSizeBytes: number;
  readonly encrypted: boolean;
  description: string;
  readonly startedAt: number;
  readonly completesAt: number;
  readonly failedAt?: number;
  readonly volumeId: string;
  readonly tags: Map<string, string>;
  /** createVolumePermission group `all`: what the attribute says, not whether it is really public. */
  sharedWithAll: boolean;
  /** Accounts the snapshot is shared with (rare: allocated on first use). */
  userIds?: Set<string>;
  /** Images (not deregistered) whose block device mappings use the snapshot. */
  readonly usedBy: string[];
}

/** A setting that changes some time after it is asked to (image block public access). */
export interface Transition<T> {
  readonly from: T;
  readonly to: T;
  readonly at: number;
}

/** The value of a transition at time `t`. */
export function valueAt<T>(transition: Transition<T>, t: number): T {
  return t >= transition.at ? transition.to : transition.from;
}

/** Everything of one account in one region. Instances and volumes live in the EC2 instance model's maps. */
export class RegionState {
  readonly images = new Map<string, SimImage>();
  /** Deregistered images no longer listed; acting on them still answers InvalidAMIID.Unavailable. */
  readonly goneImages = new Set<string>();
  readonly snapshots = new Map<string, SimSnapshot>();
  readonly deletedSnapshots = new Set<string>();
  /** Image name -> image id, for names in use (deregistration frees a name). */
  readonly imageNames = new Map<string, string>();
  readonly publicImages = new Set<string>();
  /** Copies that may still be pending; pruned as they finish. */
  readonly copiesInFlight = new Set<string>();
  /** ClientToken -> the request it was first used with and its result. */
  readonly copyTokens = new Map<string, { readonly request: string; readonly imageId: string }>();
  imageBlockPublicAccess: Transition<'unblocked' | 'block-new-sharing'>;
  imageBlockPublicAccessManagedBy: 'account' | 'declarative-policy' = 'account';
  snapshotBlockPublicAccess: 'unblocked' | 'block-new-sharing' | 'block-all-sharing';
  encryptionByDefault = false;

  constructor(
    readonly info: RegionInfo,
    physics: Physics,
  ) {
    const initial = physics.images.blockPublicAccessDefault;
    this.imageBlockPublicAccess = { from: initial, to: initial, at: 0 };
    this.snapshotBlockPublicAccess = physics.snapshots.blockPublicAccessDefault;
  }

  get name(): string {
    return this.info.name;
  }
}

/** What the models share: the account, the clock, the physics, seeded randomness, ids, counters, regions. */
export class World {
  private readonly regions = new Map<string, RegionState>();
  private readonly enabled: Set<string>;
  private readonly idStream: Random;
  private seqCounter = 0;

  constructor(
    readonly accountId: string,
    private readonly seed: string,
    private physicsNow: Physics,
    readonly counters: SimCounters,
    readonly now: () => number,
    enabledRegions: readonly string[],
    readonly catalog: readonly RegionInfo[] = COMMERCIAL_REGIONS,
  ) {
    this.enabled = new Set(enabledRegions);
    this.idStream = new Random(`${seed}:ids`);
  }

  get physics(): Physics {
    return this.physicsNow;
  }

  set physics(next: Physics) {
    this.physicsNow = next;
  }

  /** A fresh stream for one purpose, e.g. `copy:ami-0123`: the same label always gives the same draws. */
  random(label: string): Random {
    return new Random(hashString(`${this.seed}:${label}`));
  }

  /** One draw of `distribution` from the stream `label`. */
  draw(distribution: Distribution, label: string): number {
    return typeof distribution === 'number' ? distribution : draw(distribution, this.random(label));
  }

  /**
   * A new resource id with EC2's shape (`ami-` and 17 hex digits). Not checked for uniqueness: 68 random bits make a
   * collision among a million ids a one-in-a-billion event, and the check would cost a set of every id.
   */
  newId(prefix: string, digits = 17): string {
    return `${prefix}-${this.idStream.hex(digits)}`;
  }

  /** An increasing number giving resources a stable listing order. */
  nextSeq(): number {
    return ++this.seqCounter;
  }

  isEnabled(region: string): boolean {
    return this.enabled.has(region);
  }

  enable(region: string): void {
    this.enabled.add(region);
  }

  disable(region: string): void {
    this.enabled.delete(region);
  }

  /** The regions the account may use, in catalogue order. */
  enabledRegions(): string[] {
    return this.catalog.filter((r) => this.enabled.has(r.name)).map((r) => r.name);
  }

  /** The state of `name`, created on first use; undefined for a region the catalogue does not know. */
  region(name: string): RegionState | undefined {
    let state = this.regions.get(name);
    if (!state) {
      const info = this.catalog.find((r) => r.name === name);
      if (!info) return undefined;
      state = new RegionState(info, this.physicsNow);
      this.regions.set(name, state);
    }
    return state;
  }

  /** Every region that holds state. */
  allRegions(): RegionState[] {
    return [...this.regions.values()];
  }
}

/** When a call's answer leaves the service: its arrival plus its latency. */
export interface CallTiming {
  readonly respondsAt: number;
}

/** Answers one call of one operation in one region. */
export type OperationHandler = (region: RegionState, input: Record<string, unknown>, timing: CallTiming) => object;

/** The method of `target` named after an operation (`PutParameter`), bound, or undefined when there is none. */
export function operationMethod(target: object, operation: string): OperationHandler | undefined {
  if (!/^[A-Z]/.test(operation)) return undefined;
  const method = (target as Record<string, unknown>)[operation];
  return typeof method === 'function' ? (method.bind(target) as OperationHandler) : undefined;
}

/** The value of `key` in `map`, made with `make` and stored on first use. */
export function getOrCreate<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}
