import type { PrunePolicy, PruneInventory } from './types';

/** One image (and its snapshots) that `adopt` tags as managed, or leaves alone, with the reason. */
export interface AdoptEntry {
  readonly imageId: string;
  readonly name: string;
  readonly action: 'tag' | 'skip';
  readonly reason:
    | 'adopt-image-and-snapshots'
    | 'adopt-snapshots'
    | 'already-managed'
    | 'unmanaged-name'
    | 'not-owned'
    | 'not-settled';
  readonly detail: string;
  /** Resources to tag: the image if untagged, and each of its snapshots we own that lacks the tag. */
  readonly resources: readonly string[];
}

export interface AdoptPlan {
  readonly regions: readonly { readonly region: string; readonly entries: readonly AdoptEntry[] }[];
}

/**
 * Decides which pre-existing images become managed: owned images whose names the profile understands, together with
 * their snapshots (a tag-scoped IAM policy denies deleting an untagged snapshot, so an image is adopted whole).
 * Names that do not parse are never adopted.
 */
export function planAdopt(
  inventory: readonly PruneInventory[],
  policy: Pick<PrunePolicy, 'profile' | 'managedTag'>,
): AdoptPlan {
  const { key, value } = policy.managedTag;
  return {
    regions: inventory.map((region) => {
      const snapshots = new Map(region.snapshots.map((s) => [s.snapshotId, s]));
      const entries = region.images.map((image): AdoptEntry => {
        const base = { imageId: image.imageId, name: image.name, resources: [] as string[] };
        const parsed = policy.profile.parse(image.name);
        if (!parsed.managed) return { ...base, action: 'skip', reason: 'unmanaged-name', detail: parsed.reason };
        if (image.ownerId !== region.accountId) {
          return { ...base, action: 'skip', reason: 'not-owned', detail: `owned by ${image.ownerId}` };
        }
        if (image.state !== 'available' && image.state !== 'disabled') {
          return { ...base, action: 'skip', reason: 'not-settled', detail: `image state is ${image.state}` };
        }
        const imageTagged = image.tags[key] === value;
        const untaggedSnapshots = image.snapshotIds.filter((id) => {
          const snapshot = snapshots.get(id);
          return snapshot !== undefined && snapshot.tags[key] !== value;
        });
        if (imageTagged && untaggedSnapshots.length === 0) {
          return { ...base, action: 'skip', reason: 'already-managed', detail: `carries ${key}=${value}` };
        }
        return {
          ...base,
          action: 'tag',
          reason: imageTagged ? 'adopt-snapshots' : 'adopt-image-and-snapshots',
          detail: imageTagged
            ? `image is managed but ${untaggedSnapshots.length} of its snapshots are not`
            : `${parsed.seriesKey} build without the managed tag`,
          resources: [...(imageTagged ? [] : [image.imageId]), ...untaggedSnapshots],
        };
      });
      return { region: region.region, entries };
    }),
  };
}
