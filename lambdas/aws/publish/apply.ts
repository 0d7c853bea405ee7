import {
  CreateTagsCommand,
  EnableImageDeprecationCommand,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { describeError } from '../../core/errors';
import type { PublishAction } from '../../core/publish/model';
import { mapLimit } from '../../shared/concurrency';
import type { PublishContext } from './context';

/** The resource an action changes, for logs and failure lists. */
export function targetOf(action: PublishAction): string {
  switch (action.kind) {
    case 'tag':
      return action.resourceIds.join(',');
    case 'snapshot-permission':
      return action.snapshotId;
    case 'ssm':
      return action.parameter;
    default:
      return action.imageId;
  }
}

async function applyOne(ctx: PublishContext, region: string, action: PublishAction): Promise<void> {
  const ec2 = ctx.clients.client(EC2Client, region);
  switch (action.kind) {
    case 'tag':
      await ctx.limiter.run(region, 'CreateTags', () =>
        ec2.send(
          new CreateTagsCommand({
            Resources: [...action.resourceIds],
            Tags: Object.entries(action.tags).map(([Key, Value]) => ({ Key, Value })),
          }),
        ),
      );
      return;
    case 'snapshot-permission':
      // The GroupNames form, which every endpoint accepts (the emulator knows no other).
      await ctx.limiter.run(region, 'ModifySnapshotAttribute', () =>
        ec2.send(
          new ModifySnapshotAttributeCommand({
            SnapshotId: action.snapshotId,
            Attribute: 'createVolumePermission',
            OperationType: 'add',
            GroupNames: ['all'],
          }),
        ),
      );
      return;
    case 'launch-permission':
      await ctx.limiter.run(region, 'ModifyImageAttribute', () =>
        ec2.send(
          new ModifyImageAttributeCommand({ ImageId: action.imageId, LaunchPermission: { Add: [{ Group: 'all' }] } }),
        ),
      );
      return;
    case 'deprecate':
      await ctx.limiter.run(region, 'EnableImageDeprecation', () =>
        ec2.send(
          new EnableImageDeprecationCommand({ ImageId: action.imageId, DeprecateAt: new Date(action.deprecateAt) }),
        ),
      );
      return;
    case 'ssm':
      await ctx.clients.client(SSMClient, region).send(
        new PutParameterCommand({
          Name: action.parameter,
          Value: action.imageId,
          Type: 'String',
          DataType: 'aws:ec2:image',
          Overwrite: true,
          Description: 'Newest build of this series, written by the publish workflow',
        }),
      );
      return;
  }
}

/** What happened to one image's changes: how many were applied, the one that failed, the ones skipped after it. */
export interface ImageChanges {
  readonly applied: number;
  readonly failure?: { readonly action: PublishAction; readonly error: string; readonly code?: string };
  readonly skipped: readonly PublishAction[];
}

/**
 * Applies one image's changes in their planned order (tags, launch permission, snapshot permission, deprecation,
 * SSM) and stops at the first that fails: an image whose launch permission failed never gets its SSM parameter moved
 * to it. The skipped changes are reported with the failure.
 */
export async function applyInOrder(
  ctx: PublishContext,
  region: string,
  actions: readonly PublishAction[],
): Promise<ImageChanges> {
  let applied = 0;
  for (const [index, action] of actions.entries()) {
    try {
      await applyOne(ctx, region, action);
      applied++;
    } catch (error) {
      const { message, code } = describeError(error);
      const skipped = actions.slice(index + 1);
      ctx.logger.warn('change failed', {
        region,
        kind: action.kind,
        target: targetOf(action),
        error: message,
        code,
        skipped: skipped.map((a) => a.kind),
      });
      return { applied, failure: { action, error: message, code }, skipped };
    }
  }
  return { applied, skipped: [] };
}

/** Applies the changes of many images of one region, images in parallel, each image's changes in order. */
export async function applyImages(
  ctx: PublishContext,
  region: string,
  images: readonly { readonly id: string; readonly actions: readonly PublishAction[] }[],
): Promise<Map<string, ImageChanges>> {
  const results = await mapLimit(images, 10, (image) => applyInOrder(ctx, region, image.actions));
  return new Map(images.map((image, i) => [image.id, results[i]!]));
}
