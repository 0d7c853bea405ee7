import { parseConfig } from '../../lambdas/core/config';
import {
  type InventoryImage,
  type InventorySnapshot,
  type PruneInventory,
  type PrunePlan,
  type PrunePolicy,
  prunePolicy,
} from '../../lambdas/core/prune';
import { DAY_MS } from '../../lambdas/core/time';

// The prune planner's tests describe one account's region on one fixed clock, so ages read as plain day counts.
export const ACCOUNT = '111111111111';
export const MANAGED = { 'ami-pipeline:managed-by': 'ami-pipeline' };
export const NOW = new Date('2026-11-26T12:00:00Z');

/** The instant `daysAgo` days (plus `ms`) before NOW. */
export const at = (daysAgo: number, ms = 0) => new Date(NOW.getTime() - daysAgo * DAY_MS + ms).toISOString();
/** The day `days` days before NOW, as EC2 and the names write dates. */
export const dateAgo = (days: number) => at(days).slice(0, 10);

/** One of our public images, available, with a snapshot named after it. */
export function image(id: string, name: string, extra: Partial<InventoryImage> = {}): InventoryImage {
  return {
    imageId: id,
    name,
    ownerId: ACCOUNT,
    state: 'available',
    public: true,
    snapshotIds: [`snap-${id.slice(4)}`],
    tags: MANAGED,
    ...extra,
  };
}

/** One of our tagged 6 GiB snapshots, taken long before any retention bound. */
export function snapshot(id: string, extra: Partial<InventorySnapshot> = {}): InventorySnapshot {
  return { snapshotId: id, ownerId: ACCOUNT, volumeSizeGiB: 6, startTime: at(400), tags: MANAGED, ...extra };
}

/** A region holding `images` and the snapshots they name. */
export function regionOf(images: InventoryImage[], extra: Partial<PruneInventory> = {}): PruneInventory {
  const snapshots = images.flatMap((i) => i.snapshotIds.map((s) => snapshot(s)));
  return { region: 'us-east-1', accountId: ACCOUNT, images, snapshots, ssmReferences: {}, ...extra };
}

/** The policy of a configuration; the breaker is open so that a rule's test is not about the breaker. */
export const policy = (overrides: Record<string, unknown> = {}, options: { overrideBreaker?: boolean } = {}) =>
  prunePolicy(parseConfig({ safety: { maxDeleteShare: 1 }, ...overrides }), options) satisfies PrunePolicy;

/** The plan's entry for an image or snapshot id, whichever region holds it; undefined when the plan has none. */
export function findEntry(plan: PrunePlan, id: string) {
  for (const region of plan.regions) {
    const found = region.images.find((i) => i.imageId === id) ?? region.snapshots.find((s) => s.snapshotId === id);
    if (found) return found;
  }
  return undefined;
}

/** The plan's entry for an id; a missing one fails the test naming the id, not a property of undefined. */
export function entry(plan: PrunePlan, id: string) {
  const found = findEntry(plan, id);
  if (!found) throw new Error(`${id} is not in the plan`);
  return found;
}

/** What the plan does with an id and why. */
export function verdict(plan: PrunePlan, id: string) {
  const { action, reason } = entry(plan, id);
  return { action, reason };
}

export const detail = (plan: PrunePlan, id: string) => entry(plan, id).detail;
