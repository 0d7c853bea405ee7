import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  ModifyImageAttributeCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { describeError, errorCode, type ItemFailure } from '../../core/errors';
import type { DeletedSnapshot, RegionExecution, PruneRegionPlan, SnapshotPlanEntry } from '../../core/prune';
import { TAG } from '../../core/tags';
import type { Logger } from '../../shared/logger';
import { silentLogger } from '../../shared/logger';
import type { ClientFactory } from '../clients';
import { type Clock, type RateLimiter, realClock, unlimited } from '../rate-limiter';

const IMAGE_GONE = new Set(['InvalidAMIID.NotFound', 'InvalidAMIID.Unavailable']);
const SNAPSHOT_GONE = new Set(['InvalidSnapshot.NotFound']);
const SNAPSHOT_IN_USE = 'InvalidSnapshot.InUse';

export interface ExecuteOptions {
  readonly limiter?: RateLimiter;
  readonly clock?: Clock;
  /** Epoch ms after which no new deletion starts; the next batch continues from a fresh plan. */
  readonly deadline?: number;
  /** Deletion date written on soft-deleted images, `YYYY-MM-DD`. */
  readonly deleteAfter?: string;
  readonly logger?: Logger;
}

/**
 * Applies one region's plan, oldest first: soft-deletes (launch permission removed, deletion date tagged), then
 * deregistrations, each immediately followed by the snapshots that no remaining image uses; then orphan snapshots.
 * DeleteAssociatedSnapshots is asked for only when every snapshot of the image is planned, and its per-snapshot
 * results are checked; whatever it did not delete is deleted one by one. NotFound counts as done, InUse is kept and
 * reported, any other error is a per-item failure. Stops starting new work at the deadline.
 */
export async function executeRegionPlan(
  clients: ClientFactory,
  plan: PruneRegionPlan,
  options: ExecuteOptions = {},
): Promise<RegionExecution> {
  const { region } = plan;
  const limiter = options.limiter ?? unlimited;
  const clock = options.clock ?? realClock;
  const logger = (options.logger ?? silentLogger).with({ region });
  const ec2 = clients.client(EC2Client, region);
  const result = {
    region,
    deregistered: [] as string[],
    softDeleted: [] as string[],
    snapshotsDeleted: [] as DeletedSnapshot[],
    snapshotsInUse: [] as string[],
    failed: [] as ItemFailure[],
    complete: true,
  };
  const fail = (id: string, error: unknown) => {
    const { message, code } = describeError(error);
    result.failed.push({ id, region, error: message, ...(code && { code }) });
    logger.warn('prune item failed', { id, error: message, code });
  };
  const outOfTime = () => options.deadline !== undefined && clock.now() >= options.deadline;
  const planned = new Map(plan.snapshots.filter((s) => s.action === 'delete').map((s) => [s.snapshotId, s]));
  const done = new Set<string>();
  const deregistered = new Set<string>();

  const deleteSnapshot = async (entry: SnapshotPlanEntry) => {
    if (done.has(entry.snapshotId)) return;
    done.add(entry.snapshotId);
    try {
      await limiter.run(region, 'DeleteSnapshot', () =>
        ec2.send(new DeleteSnapshotCommand({ SnapshotId: entry.snapshotId })),
      );
      result.snapshotsDeleted.push(sized(entry));
    } catch (error) {
      const code = errorCode(error);
      if (code && SNAPSHOT_GONE.has(code)) result.snapshotsDeleted.push(sized(entry));
      else if (code === SNAPSHOT_IN_USE) {
        result.snapshotsInUse.push(entry.snapshotId);
        logger.warn('snapshot in use, kept', { snapshotId: entry.snapshotId });
      } else fail(entry.snapshotId, error);
    }
  };

  for (const image of plan.images) {
    if (image.action !== 'deregister' && image.action !== 'soft-delete') continue;
    if (outOfTime()) {
      result.complete = false;
      break;
    }
    if (image.action === 'soft-delete') {
      try {
        if (image.public) {
          await limiter.run(region, 'ModifyImageAttribute', () =>
            ec2.send(
              new ModifyImageAttributeCommand({
                ImageId: image.imageId,
                LaunchPermission: { Remove: [{ Group: 'all' }] },
              }),
            ),
          );
        }
        await limiter.run(region, 'CreateTags', () =>
          ec2.send(
            new CreateTagsCommand({
              Resources: [image.imageId],
              Tags: [{ Key: TAG.deleteAfter, Value: options.deleteAfter ?? '' }],
            }),
          ),
        );
        result.softDeleted.push(image.imageId);
      } catch (error) {
        fail(image.imageId, error);
      }
      continue;
    }
    try {
      const response = await limiter.run(region, 'DeregisterImage', () =>
        ec2.send(
          new DeregisterImageCommand({
            ImageId: image.imageId,
            ...(image.deleteAllSnapshots && { DeleteAssociatedSnapshots: true }),
          }),
        ),
      );
      for (const outcome of response.DeleteSnapshotResults ?? []) {
        const entry = outcome.SnapshotId ? planned.get(outcome.SnapshotId) : undefined;
        if (entry && outcome.ReturnCode === 'success' && !done.has(entry.snapshotId)) {
          done.add(entry.snapshotId);
          result.snapshotsDeleted.push(sized(entry));
        }
      }
      result.deregistered.push(image.imageId);
      deregistered.add(image.imageId);
    } catch (error) {
      const code = errorCode(error);
      if (!code || !IMAGE_GONE.has(code)) {
        fail(image.imageId, error);
        continue;
      }
      deregistered.add(image.imageId);
    }
    for (const snapshotId of image.snapshotIds) {
      const entry = planned.get(snapshotId);
      if (entry?.usedBy.every((id) => deregistered.has(id))) await deleteSnapshot(entry);
    }
  }

  for (const entry of planned.values()) {
    if (entry.usedBy.length > 0 || done.has(entry.snapshotId)) continue;
    if (outOfTime()) {
      result.complete = false;
      break;
    }
    await deleteSnapshot(entry);
  }
  logger.info('prune batch finished', {
    deregistered: result.deregistered.length,
    softDeleted: result.softDeleted.length,
    snapshotsDeleted: result.snapshotsDeleted.length,
    failed: result.failed.length,
    complete: result.complete,
  });
  return result;
}

function sized(entry: SnapshotPlanEntry): DeletedSnapshot {
  return {
    snapshotId: entry.snapshotId,
    volumeSizeGiB: entry.volumeSizeGiB,
    ...(entry.fullSizeBytes !== undefined && { fullSizeBytes: entry.fullSizeBytes }),
  };
}
