import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  EC2Client,
  ModifyImageAttributeCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { ClientFactory } from '../../lambdas/aws/clients';
import { executeRegionPlan } from '../../lambdas/aws/prune';
import { type Clock, RateLimiter } from '../../lambdas/aws/rate-limiter';
import type { ImagePlanEntry, PruneRegionPlan, SnapshotPlanEntry } from '../../lambdas/core/prune';
import { TAG } from '../../lambdas/core/tags';
import { Logger } from '../../lambdas/shared/logger';

/** Virtual time: sleeping advances the clock at once, so a 30-second throttle schedule runs in milliseconds. */
function virtualClock(): Clock & { elapsed: number } {
  const clock = {
    elapsed: 0,
    now: () => clock.elapsed,
    sleep: async (ms: number) => {
      clock.elapsed += ms;
    },
  };
  return clock;
}

function backlog(images: number): PruneRegionPlan {
  return {
    region: 'us-east-1',
    images: Array.from({ length: images }, (_, index) => ({
      imageId: `ami-${index}`,
      name: `FreeBSD 14.3-STABLE-amd64-2024${String(index).padStart(4, '0')} base UFS`,
      action: 'deregister' as const,
      reason: 'aged-out' as const,
      detail: 'old',
      snapshotIds: [`snap-${index}`],
      deleteAllSnapshots: true,
      public: true,
    })),
    snapshots: Array.from({ length: images }, (_, index) => ({
      snapshotId: `snap-${index}`,
      action: 'delete' as const,
      reason: 'image-deregistered' as const,
      detail: 'old',
      usedBy: [`ami-${index}`],
      volumeSizeGiB: 6,
    })),
    breaker: { managedImages: images, plannedDeletions: images, share: 1, limit: 1, tripped: false, overridden: true },
  };
}

describe('prune executor', () => {
  const ec2 = mockClient(EC2Client);
  afterEach(() => ec2.reset());

  test('keeps DeregisterImage and DeleteSnapshot each within AWS’s 100-burst, 5-per-second bucket', async () => {
    // Prepare
    const clock = virtualClock();
    const calls: { action: string; at: number }[] = [];
    ec2.on(DeregisterImageCommand).callsFake(async () => {
      calls.push({ action: 'DeregisterImage', at: clock.now() });
      return {};
    });
    ec2.on(DeleteSnapshotCommand).callsFake(async () => {
      calls.push({ action: 'DeleteSnapshot', at: clock.now() });
      return {};
    });

    // Act
    const result = await executeRegionPlan(new ClientFactory(), backlog(160), {
      limiter: new RateLimiter(undefined, clock),
      clock,
    });

    // Assess
    expect(result.deregistered).toHaveLength(160);
    expect(result.snapshotsDeleted).toHaveLength(160);
    for (const action of ['DeregisterImage', 'DeleteSnapshot']) {
      const times = calls.filter((c) => c.action === action).map((c) => c.at);
      // The n-th call (0-based) can start no earlier than the bucket allows after its first 100 tokens.
      const early = times.filter((at, n) => at < Math.max(0, (n + 1 - 100) / 5) * 1000 - 1);
      expect(early).toEqual([]);
      expect(times.at(-1)).toBeGreaterThanOrEqual(((160 - 100) / 5) * 1000 - 1);
    }
  });

  test('checks DeleteAssociatedSnapshots results and deletes only what EC2 did not', async () => {
    ec2.on(DeregisterImageCommand).resolves({
      DeleteSnapshotResults: [{ SnapshotId: 'snap-0', ReturnCode: 'success' }],
    });
    ec2.on(DeleteSnapshotCommand).resolves({});

    const result = await executeRegionPlan(new ClientFactory(), backlog(2));

    expect(ec2.commandCalls(DeregisterImageCommand)[0]!.args[0].input).toEqual({
      ImageId: 'ami-0',
      DeleteAssociatedSnapshots: true,
    });
    expect(ec2.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input.SnapshotId)).toEqual(['snap-1']);
    expect(result.snapshotsDeleted.map((s) => s.snapshotId).sort()).toEqual(['snap-0', 'snap-1']);
  });

  test('stops starting deletions when the time budget is spent, and says the batch is incomplete', async () => {
    const clock = virtualClock();
    ec2.on(DeregisterImageCommand).callsFake(async () => {
      clock.elapsed += 1000;
      return {};
    });
    ec2.on(DeleteSnapshotCommand).resolves({});

    const result = await executeRegionPlan(new ClientFactory(), backlog(10), { clock, deadline: 3500 });

    expect(result.complete).toBe(false);
    expect(result.deregistered).toEqual(['ami-0', 'ami-1', 'ami-2', 'ami-3']);
    expect(result.snapshotsDeleted).toHaveLength(4);
  });

  const awsError = (code: string) => Object.assign(new Error(`${code} (simulated)`), { name: code });

  function imageEntry(id: string, extra: Partial<ImagePlanEntry> = {}): ImagePlanEntry {
    return {
      imageId: id,
      name: `FreeBSD 14.3-STABLE-amd64-20240101 base UFS`,
      action: 'deregister',
      reason: 'aged-out',
      detail: 'old',
      snapshotIds: [`snap-${id.slice(4)}`],
      deleteAllSnapshots: false,
      public: true,
      ...extra,
    };
  }

  function snapshotEntry(id: string, usedBy: string[], extra: Partial<SnapshotPlanEntry> = {}): SnapshotPlanEntry {
    return {
      snapshotId: id,
      action: 'delete',
      reason: usedBy.length ? 'image-deregistered' : 'orphan',
      detail: 'old',
      usedBy,
      volumeSizeGiB: 6,
      ...extra,
    };
  }

  function planOf(images: ImagePlanEntry[], snapshots: SnapshotPlanEntry[]): PruneRegionPlan {
    return {
      region: 'us-east-1',
      images,
      snapshots,
      breaker: { managedImages: 9, plannedDeletions: 1, share: 0.1, limit: 0.5, tripped: false, overridden: false },
    };
  }

  const inputs = <T>(command: new (...args: never[]) => T) =>
    ec2.commandCalls(command as never).map((call) => call.args[0].input as Record<string, unknown>);

  test('asks EC2 to delete the snapshots with the image only when the plan deletes every one of them', async () => {
    // Prepare
    ec2.on(DeregisterImageCommand).resolves({});
    ec2.on(DeleteSnapshotCommand).resolves({});
    const plan = planOf(
      [imageEntry('ami-a', { snapshotIds: ['snap-a', 'snap-shared'] })],
      [snapshotEntry('snap-a', ['ami-a'])],
    );

    // Act
    const result = await executeRegionPlan(new ClientFactory(), plan);

    // Assess
    expect(inputs(DeregisterImageCommand)).toEqual([{ ImageId: 'ami-a' }]);
    expect(inputs(DeleteSnapshotCommand)).toEqual([{ SnapshotId: 'snap-a' }]);
    expect(result.deregistered).toEqual(['ami-a']);
  });

  test('a snapshot two images share is deleted once the second of them is deregistered, and never twice', async () => {
    // Prepare
    const order: string[] = [];
    ec2.on(DeregisterImageCommand).callsFake(async (input: { ImageId: string }) => {
      order.push(input.ImageId);
      return {};
    });
    ec2.on(DeleteSnapshotCommand).callsFake(async (input: { SnapshotId: string }) => {
      order.push(input.SnapshotId);
      return {};
    });
    const plan = planOf(
      [imageEntry('ami-a', { snapshotIds: ['snap-shared'] }), imageEntry('ami-b', { snapshotIds: ['snap-shared'] })],
      [snapshotEntry('snap-shared', ['ami-a', 'ami-b'])],
    );

    // Act
    const result = await executeRegionPlan(new ClientFactory(), plan);

    // Assess
    expect(order).toEqual(['ami-a', 'ami-b', 'snap-shared']);
    expect(result.snapshotsDeleted).toEqual([{ snapshotId: 'snap-shared', volumeSizeGiB: 6 }]);
  });

  test('an image already gone counts as deregistered for its snapshots; any other error keeps them and is reported', async () => {
    // Prepare
    ec2
      .on(DeregisterImageCommand, { ImageId: 'ami-gone' })
      .rejects(awsError('InvalidAMIID.NotFound'))
      .on(DeregisterImageCommand, { ImageId: 'ami-unavailable' })
      .rejects(awsError('InvalidAMIID.Unavailable'))
      .on(DeregisterImageCommand, { ImageId: 'ami-denied' })
      .rejects(awsError('UnauthorizedOperation'));
    ec2.on(DeleteSnapshotCommand).resolves({});
    const ids = ['ami-gone', 'ami-unavailable', 'ami-denied'];
    const plan = planOf(
      ids.map((id) => imageEntry(id)),
      ids.map((id) => snapshotEntry(`snap-${id.slice(4)}`, [id])),
    );

    // Act
    const result = await executeRegionPlan(new ClientFactory(), plan);

    // Assess
    expect(inputs(DeleteSnapshotCommand).map((i) => i.SnapshotId)).toEqual(['snap-gone', 'snap-unavailable']);
    expect(result.deregistered).toEqual([]);
    expect(result.failed).toEqual([
      {
        id: 'ami-denied',
        region: 'us-east-1',
        error: 'UnauthorizedOperation (simulated)',
        code: 'UnauthorizedOperation',
      },
    ]);
  });

  test('a snapshot already gone counts as deleted, one in use is kept and reported, any other error is a failure', async () => {
    // Prepare
    ec2.on(DeregisterImageCommand).resolves({});
    ec2
      .on(DeleteSnapshotCommand, { SnapshotId: 'snap-gone' })
      .rejects(awsError('InvalidSnapshot.NotFound'))
      .on(DeleteSnapshotCommand, { SnapshotId: 'snap-used' })
      .rejects(awsError('InvalidSnapshot.InUse'))
      .on(DeleteSnapshotCommand, { SnapshotId: 'snap-denied' })
      .rejects(awsError('UnauthorizedOperation'));
    const plan = planOf(
      [],
      [
        snapshotEntry('snap-gone', [], { fullSizeBytes: 123 }),
        snapshotEntry('snap-used', []),
        snapshotEntry('snap-denied', []),
      ],
    );

    // Act
    const result = await executeRegionPlan(new ClientFactory(), plan);

    // Assess
    expect(result.snapshotsDeleted).toEqual([{ snapshotId: 'snap-gone', volumeSizeGiB: 6, fullSizeBytes: 123 }]);
    expect(result.snapshotsInUse).toEqual(['snap-used']);
    expect(result.failed.map((f) => [f.id, f.code])).toEqual([['snap-denied', 'UnauthorizedOperation']]);
  });

  test('counts only the snapshots DeleteAssociatedSnapshots reports deleted, and only those it planned', async () => {
    // Prepare
    ec2.on(DeregisterImageCommand).resolves({
      DeleteSnapshotResults: [
        { SnapshotId: 'snap-1', ReturnCode: 'success' },
        { SnapshotId: 'snap-2', ReturnCode: 'missing-permissions' },
        { SnapshotId: 'snap-unplanned', ReturnCode: 'success' },
        { ReturnCode: 'success' },
      ],
    });
    ec2.on(DeleteSnapshotCommand).resolves({});
    const plan = planOf(
      [imageEntry('ami-a', { snapshotIds: ['snap-1', 'snap-2'], deleteAllSnapshots: true })],
      [snapshotEntry('snap-1', ['ami-a']), snapshotEntry('snap-2', ['ami-a'])],
    );

    // Act
    const result = await executeRegionPlan(new ClientFactory(), plan);

    // Assess
    expect(inputs(DeleteSnapshotCommand)).toEqual([{ SnapshotId: 'snap-2' }]);
    expect(result.snapshotsDeleted.map((s) => s.snapshotId)).toEqual(['snap-1', 'snap-2']);
  });

  test('soft-deletes a public image by removing its launch permission and tagging the deletion date', async () => {
    // Prepare
    ec2.on(ModifyImageAttributeCommand).resolves({});
    ec2.on(CreateTagsCommand).resolves({});
    const plan = planOf(
      [
        imageEntry('ami-public', { action: 'soft-delete' }),
        imageEntry('ami-private', { action: 'soft-delete', public: false }),
      ],
      [],
    );

    // Act
    const result = await executeRegionPlan(new ClientFactory(), plan, { deleteAfter: '2026-12-10' });

    // Assess
    expect(inputs(ModifyImageAttributeCommand)).toEqual([
      { ImageId: 'ami-public', LaunchPermission: { Remove: [{ Group: 'all' }] } },
    ]);
    expect(inputs(CreateTagsCommand)).toEqual([
      { Resources: ['ami-public'], Tags: [{ Key: TAG.deleteAfter, Value: '2026-12-10' }] },
      { Resources: ['ami-private'], Tags: [{ Key: TAG.deleteAfter, Value: '2026-12-10' }] },
    ]);
    expect(result.softDeleted).toEqual(['ami-public', 'ami-private']);
    expect(inputs(DeregisterImageCommand)).toEqual([]);
  });

  test('a soft delete that fails is reported, and the image is neither counted nor deregistered', async () => {
    // Prepare
    ec2.on(ModifyImageAttributeCommand).rejects(awsError('UnauthorizedOperation'));
    const plan = planOf([imageEntry('ami-a', { action: 'soft-delete' })], []);

    // Act
    const result = await executeRegionPlan(new ClientFactory(), plan, { deleteAfter: '2026-12-10' });

    // Assess
    expect(result.softDeleted).toEqual([]);
    expect(result.failed.map((f) => f.id)).toEqual(['ami-a']);
    expect(inputs(CreateTagsCommand)).toEqual([]);
  });

  test('touches nothing the plan keeps or defers', async () => {
    // Prepare
    const plan = planOf(
      [imageEntry('ami-kept', { action: 'keep' }), imageEntry('ami-later', { action: 'deferred' })],
      [snapshotEntry('snap-kept', [], { action: 'keep' }), snapshotEntry('snap-later', [], { action: 'deferred' })],
    );

    // Act
    const result = await executeRegionPlan(new ClientFactory(), plan);

    // Assess
    expect(ec2.calls()).toHaveLength(0);
    expect(result.complete).toBe(true);
  });

  test('orphan snapshots wait for the images, and stop at the deadline like them', async () => {
    // Prepare
    const clock = virtualClock();
    const order: string[] = [];
    ec2.on(DeregisterImageCommand).callsFake(async (input: { ImageId: string }) => {
      order.push(input.ImageId);
      return {};
    });
    ec2.on(DeleteSnapshotCommand).callsFake(async (input: { SnapshotId: string }) => {
      order.push(input.SnapshotId);
      clock.elapsed += 1000;
      return {};
    });
    const plan = planOf(
      [imageEntry('ami-a', { snapshotIds: [] })],
      [snapshotEntry('snap-o1', []), snapshotEntry('snap-o2', []), snapshotEntry('snap-o3', [])],
    );

    // Act
    const result = await executeRegionPlan(new ClientFactory(), plan, { clock, deadline: 2000 });

    // Assess
    expect(order).toEqual(['ami-a', 'snap-o1', 'snap-o2']);
    expect(result.complete).toBe(false);
  });

  test('takes each call’s token from the bucket of its own action in the plan’s region', async () => {
    // Prepare
    ec2.on(ModifyImageAttributeCommand).resolves({});
    ec2.on(CreateTagsCommand).resolves({});
    ec2.on(DeregisterImageCommand).resolves({});
    ec2.on(DeleteSnapshotCommand).resolves({});
    const taken: string[] = [];
    const limiter = new (class extends RateLimiter {
      override take(region: string, action: string): Promise<void> {
        taken.push(`${region} ${action}`);
        return Promise.resolve();
      }
    })();
    const plan = planOf(
      [imageEntry('ami-soft', { action: 'soft-delete' }), imageEntry('ami-gone')],
      [snapshotEntry('snap-gone', ['ami-gone'])],
    );

    // Act
    await executeRegionPlan(new ClientFactory(), plan, { limiter, deleteAfter: '2026-12-10' });

    // Assess
    expect(taken).toEqual([
      'us-east-1 ModifyImageAttribute',
      'us-east-1 CreateTags',
      'us-east-1 DeregisterImage',
      'us-east-1 DeleteSnapshot',
    ]);
  });

  test('logs each failure and each snapshot in use with the region, and the batch’s totals', async () => {
    // Prepare
    const lines: Record<string, unknown>[] = [];
    const logger = new Logger({}, 'info', (line) => lines.push(JSON.parse(line)));
    ec2.on(DeregisterImageCommand).rejects(awsError('UnauthorizedOperation'));
    ec2.on(DeleteSnapshotCommand).rejects(awsError('InvalidSnapshot.InUse'));
    const plan = planOf([imageEntry('ami-a')], [snapshotEntry('snap-used', [])]);

    // Act
    await executeRegionPlan(new ClientFactory(), plan, { logger });

    // Assess
    expect(lines.map(({ timestamp: _at, ...line }) => line)).toEqual([
      {
        level: 'warn',
        message: 'prune item failed',
        region: 'us-east-1',
        id: 'ami-a',
        error: 'UnauthorizedOperation (simulated)',
        code: 'UnauthorizedOperation',
      },
      { level: 'warn', message: 'snapshot in use, kept', region: 'us-east-1', snapshotId: 'snap-used' },
      {
        level: 'info',
        message: 'prune batch finished',
        region: 'us-east-1',
        deregistered: 0,
        softDeleted: 0,
        snapshotsDeleted: 0,
        failed: 1,
        complete: true,
      },
    ]);
  });

  test('a shared snapshot that DeleteAssociatedSnapshots reports for both its images is counted once', async () => {
    // Prepare
    ec2.on(DeregisterImageCommand).resolves({
      DeleteSnapshotResults: [{ SnapshotId: 'snap-shared', ReturnCode: 'success' }],
    });
    const shared = { snapshotIds: ['snap-shared'], deleteAllSnapshots: true };
    const plan = planOf(
      [imageEntry('ami-a', shared), imageEntry('ami-b', shared)],
      [snapshotEntry('snap-shared', ['ami-a', 'ami-b'])],
    );

    // Act
    const result = await executeRegionPlan(new ClientFactory(), plan);

    // Assess
    expect(result.snapshotsDeleted).toEqual([{ snapshotId: 'snap-shared', volumeSizeGiB: 6 }]);
    expect(inputs(DeleteSnapshotCommand)).toEqual([]);
  });

  test('a failure without an AWS error code and a snapshot without a full size carry no such field', async () => {
    // Prepare
    ec2.on(DeregisterImageCommand).rejects(new Error('socket hang up'));
    ec2.on(DeleteSnapshotCommand).resolves({});
    const plan = planOf([imageEntry('ami-a')], [snapshotEntry('snap-orphan', [])]);

    // Act
    const result = await executeRegionPlan(new ClientFactory(), plan);

    // Assess
    expect(result.failed).toStrictEqual([{ id: 'ami-a', region: 'us-east-1', error: 'socket hang up' }]);
    expect(result.snapshotsDeleted).toStrictEqual([{ snapshotId: 'snap-orphan', volumeSizeGiB: 6 }]);
  });
});
