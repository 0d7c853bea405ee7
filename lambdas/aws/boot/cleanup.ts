import {
  DeleteVolumeCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  type Filter,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { describeError, errorCode, type ItemFailure, type Outcome, PipelineError } from '../../core/errors';
import { type ManagedTag, TAG } from '../../core/tags';
import type { BootEc2Calls, BootEc2Context } from './context';

const NOT_FOUND = new Set(['InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed', 'InvalidVolume.NotFound']);
const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];

/** How long removing a test volume may take, and how often its state is read meanwhile. */
export interface WaitOptions {
  readonly cycleTimeoutMs: number;
  readonly pollMs: number;
}

/** How long a cleanup waits for terminations and detaches, and how often it looks. */
export const CLEANUP_WAITS: WaitOptions = { cycleTimeoutMs: 300_000, pollMs: 2000 };

/** Terminates instances; one already gone counts as terminated. */
export async function terminateInstances(ctx: BootEc2Calls, instanceIds: readonly string[]): Promise<Outcome<string>> {
  const { ec2, limiter, region } = ctx;
  const outcome: Outcome<string> = { succeeded: [], failed: [] };
  if (instanceIds.length === 0) return outcome;
  try {
    await limiter.run(region, 'TerminateInstances', () =>
      ec2.send(new TerminateInstancesCommand({ InstanceIds: [...instanceIds] })),
    );
    outcome.succeeded.push(...instanceIds);
  } catch (error) {
    // One unknown id fails the whole call; retry one by one so the others are still terminated.
    if (instanceIds.length === 1) {
      const { message, code } = describeError(error);
      if (code && NOT_FOUND.has(code)) outcome.succeeded.push(instanceIds[0]!);
      else outcome.failed.push({ id: instanceIds[0]!, region, error: message, code });
    } else {
      for (const id of instanceIds) {
        const single = await terminateInstances(ctx, [id]);
        outcome.succeeded.push(...single.succeeded);
        outcome.failed.push(...single.failed);
      }
    }
  }
  return outcome;
}

/** Deletes a volume, force-detaching it first if it is attached; NotFound is success. */
export async function deleteVolume(
  { ec2, limiter, clock, region }: BootEc2Context,
  volumeId: string,
  options: WaitOptions,
): Promise<void> {
  const deadline = clock.now() + options.cycleTimeoutMs;
  for (;;) {
    let state: string | undefined;
    let attachment: { InstanceId?: string; Device?: string } | undefined;
    try {
      const response = await limiter.run(region, 'DescribeVolumes', () =>
        ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] })),
      );
      state = response.Volumes?.[0]?.State;
      attachment = response.Volumes?.[0]?.Attachments?.[0];
    } catch (error) {
      if (NOT_FOUND.has(errorCode(error) ?? '')) return;
      throw error;
    }
    if (state === undefined || state === 'deleted' || state === 'deleting') return;
    if (state === 'available') {
      try {
        await limiter.run(region, 'DeleteVolume', () => ec2.send(new DeleteVolumeCommand({ VolumeId: volumeId })));
        return;
      } catch (error) {
        if (NOT_FOUND.has(errorCode(error) ?? '')) return;
        if (clock.now() >= deadline) throw error;
      }
    } else if (state === 'in-use') {
      await limiter
        .run(region, 'DetachVolume', () =>
          ec2.send(
            new DetachVolumeCommand({
              VolumeId: volumeId,
              InstanceId: attachment?.InstanceId,
              Device: attachment?.Device,
              Force: true,
            }),
          ),
        )
        .catch((error) => {
          // Detaching may already be under way, or the instance is being terminated and lets go by itself.
          if (clock.now() >= deadline) throw error;
        });
    }
    if (clock.now() >= deadline)
      throw new VolumeCleanupError(`volume ${volumeId} still ${state} after ${options.cycleTimeoutMs / 1000} s`);
    await clock.sleep(options.pollMs);
  }
}

/** A test volume that could not be deleted in time; the sweeper will try again. */
export class VolumeCleanupError extends PipelineError {
  override readonly name: string = 'VolumeCleanupError';
}

/** Which test resources a cleanup or sweep looks at: those carrying `tagKey` (the value is the run id). */
export interface TestResourceScope {
  readonly tagKey: string;
  /** Narrows a run's cleanup further, e.g. to one check's resources. */
  readonly filters?: readonly Filter[];
}

/** The boot test's instances and volumes. */
export const BOOT_TEST_SCOPE: TestResourceScope = { tagKey: TAG.bootTest };

/** A tagged test resource found by a cleanup or the sweeper. */
export interface TestResource {
  readonly id: string;
  readonly kind: 'instance' | 'volume';
  readonly runId?: string;
  readonly createdAt?: string;
  readonly state?: string;
}

/** What a cleanup or sweep found and removed. */
export interface CleanupReport {
  readonly found: TestResource[];
  readonly terminated: string[];
  readonly volumesDeleted: string[];
  readonly failed: ItemFailure[];
}

async function findTestResources(
  { ec2, limiter, region }: BootEc2Calls,
  filters: Filter[],
  tagKey: string,
): Promise<TestResource[]> {
  const found: TestResource[] = [];
  let token: string | undefined;
  do {
    const page = await limiter.run(region, 'DescribeInstances', () =>
      ec2.send(
        new DescribeInstancesCommand({
          Filters: [...filters, { Name: 'instance-state-name', Values: LIVE_STATES }],
          NextToken: token,
        }),
      ),
    );
    for (const reservation of page.Reservations ?? [])
      for (const instance of reservation.Instances ?? [])
        found.push({
          id: instance.InstanceId!,
          kind: 'instance',
          runId: instance.Tags?.find((t) => t.Key === tagKey)?.Value,
          createdAt: instance.LaunchTime?.toISOString(),
          state: instance.State?.Name,
        });
    token = page.NextToken;
  } while (token);
  token = undefined;
  do {
    const page = await limiter.run(region, 'DescribeVolumes', () =>
      ec2.send(new DescribeVolumesCommand({ Filters: filters, NextToken: token })),
    );
    for (const volume of page.Volumes ?? [])
      if (volume.State !== 'deleted' && volume.State !== 'deleting')
        found.push({
          id: volume.VolumeId!,
          kind: 'volume',
          runId: volume.Tags?.find((t) => t.Key === tagKey)?.Value,
          createdAt: volume.CreateTime?.toISOString(),
          state: volume.State,
        });
    token = page.NextToken;
  } while (token);
  return found;
}

async function removeAll(ctx: CleanupContext, found: TestResource[]): Promise<CleanupReport> {
  const instances = found.filter((r) => r.kind === 'instance' && r.state !== 'shutting-down').map((r) => r.id);
  const terminated = await terminateInstances(ctx, instances);
  const volumesDeleted: string[] = [];
  const failed = [...terminated.failed];
  for (const volume of found.filter((r) => r.kind === 'volume')) {
    try {
      await deleteVolume(ctx, volume.id, ctx.waits);
      volumesDeleted.push(volume.id);
    } catch (error) {
      const { message, code } = describeError(error);
      failed.push({ id: volume.id, region: ctx.region, error: message, code });
    }
  }
  return { found, terminated: terminated.succeeded, volumesDeleted, failed };
}

/** What a cleanup or sweep acts through, and which resources are its to remove. */
export interface CleanupContext extends BootEc2Context {
  readonly managed: ManagedTag;
  readonly waits: WaitOptions;
  /** The boot test's resources unless told otherwise. */
  readonly scope?: TestResourceScope;
}

/** Terminates every instance and deletes every volume a run tagged, whatever state the run ended in. */
export async function cleanupRun(ctx: CleanupContext, runId: string): Promise<CleanupReport> {
  const { managed, scope = BOOT_TEST_SCOPE } = ctx;
  const filters = [
    { Name: `tag:${managed.key}`, Values: [managed.value] },
    { Name: `tag:${scope.tagKey}`, Values: [runId] },
    ...(scope.filters ?? []),
  ];
  const found = await findTestResources(ctx, filters, scope.tagKey);
  return removeAll(ctx, found);
}

/** Terminates tagged test instances and deletes tagged test volumes created before `olderThan`, and reports them. */
export async function sweepTestResources(ctx: CleanupContext, olderThan: Date): Promise<CleanupReport> {
  const { managed, scope = BOOT_TEST_SCOPE } = ctx;
  const filters = [
    { Name: `tag:${managed.key}`, Values: [managed.value] },
    { Name: 'tag-key', Values: [scope.tagKey] },
    ...(scope.filters ?? []),
  ];
  const all = await findTestResources(ctx, filters, scope.tagKey);
  const stale = all.filter((r) => r.createdAt !== undefined && Date.parse(r.createdAt) < olderThan.getTime());
  return removeAll(ctx, stale);
}
