import {
  AttachVolumeCommand,
  CreateVolumeCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  StopInstancesCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import { HOTPLUG_VOLUME_GIB } from '../../core/boot/plan';
import type { CheckResult } from '../../core/boot/result';
import { describeError } from '../../core/errors';
import { deleteVolume } from './cleanup';
import type { BootEc2Context } from './context';
import { describeInstanceStates } from './instances';

export interface StopCheckOptions {
  /** A FreeBSD that honours the ACPI power button stops well within this; EC2 forces a stop much later. */
  readonly cleanWithinMs: number;
  /** Gives up polling after this long. */
  readonly timeoutMs: number;
  readonly pollMs: number;
}

/** Stops the instance through the API and times how long it takes to reach `stopped`. */
export async function stopCheck(
  ctx: BootEc2Context,
  instanceId: string,
  options: StopCheckOptions,
): Promise<CheckResult> {
  const { ec2, limiter, clock, region } = ctx;
  const started = clock.now();
  await limiter.run(region, 'StopInstances', () => ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] })));
  for (;;) {
    const state = (await describeInstanceStates(ctx, [instanceId])).get(instanceId)?.state;
    const seconds = (clock.now() - started) / 1000;
    if (state === 'stopped') {
      const passed = seconds * 1000 <= options.cleanWithinMs;
      return {
        name: 'stop',
        passed,
        seconds,
        reason: passed
          ? `stopped in ${seconds.toFixed(1)} s`
          : `stopped only after ${seconds.toFixed(1)} s (over ${options.cleanWithinMs / 1000} s): the OS ignored the ACPI power button`,
      };
    }
    if (state === 'terminated' || state === 'shutting-down')
      return { name: 'stop', passed: false, seconds, reason: `went ${state} instead of stopped` };
    if (clock.now() - started >= options.timeoutMs)
      return {
        name: 'stop',
        passed: false,
        seconds,
        reason: `still ${state ?? 'unknown'} after ${options.timeoutMs / 1000} s`,
      };
    await clock.sleep(options.pollMs);
  }
}

export interface HotplugOptions {
  readonly instanceId: string;
  readonly availabilityZone: string;
  readonly cycles: number;
  /** Tags of the test volume (the run's tags), so the sweeper and the run's cleanup find it. */
  readonly tags: Tag[];
  readonly cycleTimeoutMs: number;
  readonly pollMs: number;
  /** After the cycles: why the instance is no longer healthy (port 22 lost, panic on the console), or undefined. */
  readonly afterCycles?: () => Promise<string | undefined>;
  /** Resumes a batch that ran out of time: the volume it kept and the cycles already done. */
  readonly resume?: { readonly volumeId: string; readonly completed: number };
  /** Stops between cycles once this moment (clock ms) has passed, keeping the volume for the next batch. */
  readonly deadlineAt?: number;
}

/** A hot-plug check, or a batch of one that ran out of time (`finished: false`, volume kept for the next batch). */
export type HotplugResult = CheckResult & {
  readonly volumeId?: string;
  readonly finished: boolean;
  readonly cycles: number;
};

const DEVICE = '/dev/sdf';

/**
 * Attaches and detaches a small gp3 volume `cycles` times, then asks `afterCycles` whether the instance survived.
 * The volume is deleted whatever happens (force-detached first if a cycle got stuck), except when a batch stops at
 * its deadline to be resumed: a Lambda has 15 minutes and 100 cycles can take longer.
 */
export async function hotplugCheck(ctx: BootEc2Context, options: HotplugOptions): Promise<HotplugResult> {
  const { ec2, limiter, clock, region } = ctx;
  const started = clock.now();
  let volumeId = options.resume?.volumeId;
  let completed = options.resume?.completed ?? 0;
  let result: CheckResult | undefined;
  let finished = true;
  try {
    if (!volumeId) {
      const created = await limiter.run(region, 'CreateVolume', () =>
        ec2.send(
          new CreateVolumeCommand({
            AvailabilityZone: options.availabilityZone,
            Size: HOTPLUG_VOLUME_GIB,
            VolumeType: 'gp3',
            TagSpecifications: [{ ResourceType: 'volume', Tags: options.tags }],
          }),
        ),
      );
      volumeId = created.VolumeId!;
      await waitForVolume(ctx, volumeId, 'available', options);
    }
    const id = volumeId;
    for (let cycle = completed + 1; cycle <= options.cycles; cycle++) {
      if (options.deadlineAt !== undefined && clock.now() >= options.deadlineAt) {
        finished = false;
        break;
      }
      await limiter.run(region, 'AttachVolume', () =>
        ec2.send(new AttachVolumeCommand({ VolumeId: id, InstanceId: options.instanceId, Device: DEVICE })),
      );
      if (!(await waitForVolume(ctx, id, 'in-use', options))) {
        result = failed(`attach ${cycle} of ${options.cycles} never completed`);
        break;
      }
      await limiter.run(region, 'DetachVolume', () =>
        ec2.send(new DetachVolumeCommand({ VolumeId: id, InstanceId: options.instanceId, Device: DEVICE })),
      );
      if (!(await waitForVolume(ctx, id, 'available', options))) {
        result = failed(`detach ${cycle} of ${options.cycles} never completed`);
        break;
      }
      completed = cycle;
    }
    if (!result && finished) {
      const problem = await options.afterCycles?.();
      result = problem ? failed(`after ${completed} cycles: ${problem}`) : undefined;
    }
  } catch (error) {
    result = failed(`cycle ${completed + 1}: ${describeError(error).message}`);
    finished = true;
  } finally {
    if (volumeId && (finished || result)) await deleteVolume(ctx, volumeId, options);
  }
  const seconds = (clock.now() - started) / 1000;
  const outcome =
    result ??
    (finished
      ? {
          name: 'hotplug' as const,
          passed: true,
          reason: `${completed} attach/detach cycles in ${seconds.toFixed(1)} s`,
        }
      : { name: 'hotplug' as const, passed: true, reason: `${completed} of ${options.cycles} cycles so far` });
  return { ...outcome, seconds, cycles: completed, volumeId, finished: finished || result !== undefined };
}

function failed(reason: string): CheckResult {
  return { name: 'hotplug', passed: false, reason };
}

async function waitForVolume(
  { ec2, limiter, clock, region }: BootEc2Context,
  volumeId: string,
  wanted: 'available' | 'in-use',
  options: Pick<HotplugOptions, 'cycleTimeoutMs' | 'pollMs'>,
): Promise<boolean> {
  const deadline = clock.now() + options.cycleTimeoutMs;
  for (;;) {
    const response = await limiter.run(region, 'DescribeVolumes', () =>
      ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] })),
    );
    const volume = response.Volumes?.[0];
    const attached = volume?.Attachments?.some((a) => a.State === 'attached');
    if (wanted === 'in-use' ? volume?.State === 'in-use' && attached : volume?.State === 'available') return true;
    if (clock.now() >= deadline) return false;
    await clock.sleep(options.pollMs);
  }
}
