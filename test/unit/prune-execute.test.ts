import { DeleteSnapshotCommand, DeregisterImageCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { ClientFactory } from '../../lambdas/aws/clients';
import { executeRegionPlan } from '../../lambdas/aws/prune';
import { type Clock, RateLimiter } from '../../lambdas/aws/rate-limiter';
import type { RegionPlan } from '../../lambdas/core/prune';

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

function backlog(images: number): RegionPlan {
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
});
