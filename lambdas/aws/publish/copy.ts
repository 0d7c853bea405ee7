import {
  CopyImageCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  type Image,
  type Tag,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { errorCode, PipelineError } from '../../core/errors';
import { copyClientToken } from '../../core/publish/copies';
import type { SourceImage } from '../../core/publish/model';
import { chunks } from '../../shared/concurrency';
import { describeAllImages, isImageGone, isNotFound, type PublishContext } from './context';

/** A copy could not be started and no copy of that name exists either. */
export class CopyStartError extends PipelineError {
  override readonly name: string = 'CopyStartError';
}

function toTags(tags: Readonly<Record<string, string>>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/**
 * Starts copying `source` into `region` (attempt number `attempt`, from 1, of run `runId`) and returns the new image
 * id. The client token is derived from source, region, attempt and run, so a retried invocation gets the copy it
 * already started while a later run never gets an old one back; a name already taken (`InvalidAMIName.Duplicate`,
 * e.g. a copy started by an earlier run) means the copy exists, and it is looked up by name. Tags are requested on the
 * copy and its snapshots (applied again once it is available, since not every endpoint honours them on CopyImage).
 */
export async function startCopy(
  ctx: PublishContext,
  region: string,
  source: SourceImage,
  attempt: number,
  runId: string,
  tags: Readonly<Record<string, string>>,
): Promise<string> {
  try {
    const copied = await ctx.limiter.run(region, 'CopyImage', () =>
      ctx.clients.client(EC2Client, region).send(
        new CopyImageCommand({
          Name: source.name,
          Description: source.description,
          SourceImageId: source.imageId,
          SourceRegion: source.region,
          ClientToken: copyClientToken(source.imageId, region, attempt, runId),
          CopyImageTags: false,
          TagSpecifications: [
            { ResourceType: 'image', Tags: toTags(tags) },
            { ResourceType: 'snapshot', Tags: toTags(tags) },
          ],
        }),
      ),
    );
    if (!copied.ImageId) throw new CopyStartError(`CopyImage of ${source.imageId} to ${region} returned no image id`);
    return copied.ImageId;
  } catch (error) {
    if (errorCode(error) !== 'InvalidAMIName.Duplicate') throw error;
    const existing = await findByName(ctx, region, source.name);
    if (!existing) {
      throw new CopyStartError(
        `${source.name} is reported as a duplicate in ${region} but no image of ours has that name`,
        {
          cause: error,
        },
      );
    }
    ctx.logger.info('copy already exists', { region, source: source.imageId, imageId: existing });
    return existing;
  }
}

/** Our image called `name` in `region`, preferring one that is not failed; a deregistered one does not count. */
export async function findByName(ctx: PublishContext, region: string, name: string): Promise<string | undefined> {
  const images = (
    await describeAllImages(ctx, region, {
      Owners: ['self'],
      Filters: [{ Name: 'name', Values: [name] }],
    })
  ).filter((i) => i.State !== 'deregistered');
  const usable = images.find((i) => i.State === 'available' || i.State === 'pending') ?? images[0];
  return usable?.ImageId;
}

/**
 * States of `imageIds` in `region` from one DescribeImages (a filter, so an id EC2 does not list yet does not fail
 * the call); ids beyond 200 go into further requests because filters take at most 200 values.
 */
export async function observeImages(
  ctx: PublishContext,
  region: string,
  imageIds: readonly string[],
): Promise<Record<string, { state: string; reason?: string; snapshotIds: string[] }>> {
  const observed: Record<string, { state: string; reason?: string; snapshotIds: string[] }> = {};
  for (const ids of chunks(imageIds, 200)) {
    const images = await describeAllImages(ctx, region, {
      Owners: ['self'],
      Filters: [{ Name: 'image-id', Values: ids }],
    });
    for (const image of images) {
      if (image.ImageId)
        observed[image.ImageId] = {
          state: image.State ?? 'unknown',
          reason: image.StateReason?.Message,
          snapshotIds: snapshotsOf(image),
        };
    }
  }
  return observed;
}

function snapshotsOf(image: Image | undefined): string[] {
  return (image?.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));
}

/** Snapshots of a failed copy that are still there after it was deregistered, each with why. */
export class CopyCleanupError extends PipelineError {
  override readonly name: string = 'CopyCleanupError';
}

/**
 * Deregisters a failed copy with its snapshots; an image already gone counts as done. DeleteAssociatedSnapshots
 * reports a result per snapshot: every snapshot of the copy it did not report deleted is deleted one by one (a
 * snapshot already gone counts as deleted), and any left over fails the call with its id and error.
 */
export async function deregisterCopy(
  ctx: PublishContext,
  region: string,
  imageId: string,
  knownSnapshotIds?: readonly string[],
): Promise<void> {
  const ec2 = ctx.clients.client(EC2Client, region);
  const snapshotIds =
    knownSnapshotIds ??
    snapshotsOf(
      (
        await describeAllImages(ctx, region, { Owners: ['self'], Filters: [{ Name: 'image-id', Values: [imageId] }] })
      )[0],
    );
  let results: readonly { SnapshotId?: string; ReturnCode?: string }[] = [];
  try {
    const response = await ctx.limiter.run(region, 'DeregisterImage', () =>
      ec2.send(new DeregisterImageCommand({ ImageId: imageId, DeleteAssociatedSnapshots: true })),
    );
    results = response.DeleteSnapshotResults ?? [];
  } catch (error) {
    if (!isImageGone(error)) throw error;
  }
  const deleted = new Set(results.filter((r) => r.ReturnCode === 'success').map((r) => r.SnapshotId));
  const remaining = [...new Set([...snapshotIds, ...results.flatMap((r) => (r.SnapshotId ? [r.SnapshotId] : []))])];
  const left: string[] = [];
  let firstError: unknown;
  for (const snapshotId of remaining.filter((id) => !deleted.has(id))) {
    try {
      await ctx.limiter.run(region, 'DeleteSnapshot', () =>
        ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })),
      );
    } catch (error) {
      if (isNotFound(error)) continue;
      left.push(`${snapshotId} (${errorCode(error) ?? 'error'})`);
      firstError ??= error;
    }
  }
  if (left.length > 0)
    throw new CopyCleanupError(`copy ${imageId} in ${region} is deregistered but left snapshots ${left.join(', ')}`, {
      cause: firstError,
    });
}
