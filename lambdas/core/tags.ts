/** Tag keys the pipeline writes and reads; the managed-by key itself comes from configuration (`managedTag`). */
export const TAG = {
  series: 'ami-pipeline:series',
  buildDate: 'ami-pipeline:build-date',
  sourceImage: 'ami-pipeline:source-image',
  sourceRegion: 'ami-pipeline:source-region',
  gitBranch: 'ami-pipeline:git-branch',
  gitRevision: 'ami-pipeline:git-revision',
  publishedAt: 'ami-pipeline:published-at',
  /** Marks instances and volumes launched by the boot test, so the sweeper and IAM can find only those. */
  bootTest: 'ami-pipeline:boot-test',
  /** Marks instances and volumes of a reproducibility check run; the value is the run id. */
  repro: 'ami-pipeline:repro',
  /** Soft-deleted images: launch permission removed, deletion due on this date. */
  deleteAfter: 'ami-pipeline:delete-after',
  /** Set by `adopt` on pre-existing images and snapshots that the pipeline now manages. */
  adoptedAt: 'ami-pipeline:adopted-at',
} as const;

/** The tag that marks a resource as created or adopted by the pipeline. */
export interface ManagedTag {
  readonly key: string;
  readonly value: string;
}

/** Whether a tag list carries the managed-by tag. */
export function isManaged(tags: readonly { Key?: string; Value?: string }[] | undefined, managed: ManagedTag): boolean {
  return (tags ?? []).some((t) => t.Key === managed.key && t.Value === managed.value);
}

/** Tag list as a plain record. */
export function tagRecord(tags: readonly { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).flatMap((t) => (t.Key ? [[t.Key, t.Value ?? '']] : [])));
}
