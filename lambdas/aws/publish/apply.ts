import {
  CreateTagsCommand,
  EnableImageDeprecationCommand,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
} from '@aws-sdk/client-ec2';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { describeError, type Outcome } from '../../core/errors';
import type { PublishAction } from '../../core/publish/model';
import { mapLimit } from '../../shared/concurrency';
import type { PublishContext } from './context';

// Tags first (so everything made public is already attributable), SSM last (so it only ever points at a public image).
const ORDER: Readonly<Record<PublishAction['kind'], number>> = {
  tag: 0,
  'snapshot-permission': 1,
  'launch-permission': 2,
  deprecate: 3,
  ssm: 4,
};

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
  const ec2 = ctx.clients.ec2(region);
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
      await ctx.clients.ssm(region).send(
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

/** Applies planned changes in one region; each failure is collected with its target, never aborting the rest. */
export async function applyActions(
  ctx: PublishContext,
  region: string,
  actions: readonly PublishAction[],
  idOf: (action: PublishAction) => string = (action) => `${action.kind}:${targetOf(action)}`,
): Promise<Outcome<PublishAction>> {
  const outcome: Outcome<PublishAction> = { succeeded: [], failed: [] };
  const logger = ctx.logger.with({ region });
  for (const rank of [...new Set(actions.map((a) => ORDER[a.kind]))].sort()) {
    const batch = actions.filter((a) => ORDER[a.kind] === rank);
    await mapLimit(batch, 10, async (action) => {
      try {
        await applyOne(ctx, region, action);
        outcome.succeeded.push(action);
      } catch (error) {
        const { message, code } = describeError(error);
        logger.warn('change failed', { kind: action.kind, target: targetOf(action), error: message, code });
        outcome.failed.push({ id: idOf(action), region, error: message, code });
      }
    });
  }
  return outcome;
}
