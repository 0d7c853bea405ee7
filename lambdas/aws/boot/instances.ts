import {
  DescribeInstancesCommand,
  type EC2Client,
  GetConsoleOutputCommand,
  RunInstancesCommand,
  type Tag,
  type TagSpecification,
} from '@aws-sdk/client-ec2';
import { isNitro, type LaunchSpec } from '../../core/boot/plan';
import type { BootNetwork } from '../../core/boot/result';
import { describeError } from '../../core/errors';
import { type ManagedTag, TAG } from '../../core/tags';
import type { Clock, RateLimiter } from '../rate-limiter';

/** Where test instances boot: subnets tried in order (one per AZ) and the security groups they get. */
export interface BootNetworkConfig {
  readonly kind: BootNetwork;
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
}

/** The result of launching one planned instance. */
export type LaunchOutcome =
  | {
      readonly status: 'launched';
      readonly key: string;
      readonly instanceId: string;
      readonly privateIp?: string;
      readonly subnetId: string;
      readonly availabilityZone?: string;
      readonly runInstancesStartedAt: number;
      readonly runInstancesReturnedAt: number;
      readonly reason: string;
    }
  | { readonly status: 'skipped'; readonly key: string; readonly reason: string }
  | { readonly status: 'failed'; readonly key: string; readonly reason: string; readonly code?: string };

/** EC2 answers that mean "not here, not now": try the next AZ, and report "skipped" when none has room. */
export const CAPACITY_ERRORS: ReadonlySet<string> = new Set(['InsufficientInstanceCapacity', 'Unsupported']);

/** Tags of everything a boot test run creates; IAM conditions and the sweeper rely on them. */
export function bootTestTags(
  managed: ManagedTag,
  runId: string,
  spec?: Pick<LaunchSpec, 'seriesKey' | 'imageId' | 'instanceType'>,
): Tag[] {
  const tags: Tag[] = [
    { Key: managed.key, Value: managed.value },
    { Key: TAG.bootTest, Value: runId },
  ];
  if (spec) {
    tags.push(
      { Key: TAG.series, Value: spec.seriesKey },
      { Key: TAG.sourceImage, Value: spec.imageId },
      { Key: 'Name', Value: `boot-test ${spec.instanceType} ${spec.imageId}` },
    );
  }
  return tags;
}

function tagSpecifications(tags: Tag[]): TagSpecification[] {
  return (['instance', 'volume', 'network-interface'] as const).map((ResourceType) => ({ ResourceType, Tags: tags }));
}

/**
 * Launches one planned instance: IMDSv2 required, no key pair, user data that turns off first-boot updates, test
 * tags, a ClientToken per (launch, subnet) so a retried step never starts a second instance. Capacity errors move to
 * the next subnet's AZ.
 */
export async function launchInstance(
  ec2: EC2Client,
  limiter: RateLimiter,
  clock: Pick<Clock, 'now'>,
  spec: LaunchSpec,
  network: BootNetworkConfig,
  tags: Tag[],
): Promise<LaunchOutcome> {
  const refusals: string[] = [];
  for (const [index, subnetId] of network.subnetIds.entries()) {
    let startedAt = clock.now();
    try {
      const response = await limiter.run(spec.region, 'RunInstances', () => {
        startedAt = clock.now();
        return ec2.send(
          new RunInstancesCommand({
            ImageId: spec.imageId,
            InstanceType: spec.instanceType as never,
            MinCount: 1,
            MaxCount: 1,
            ClientToken: `${spec.clientToken}-${index}`,
            SubnetId: subnetId,
            SecurityGroupIds: [...network.securityGroupIds],
            UserData: Buffer.from(spec.userData, 'utf8').toString('base64'),
            MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
            InstanceInitiatedShutdownBehavior: 'terminate',
            TagSpecifications: tagSpecifications(tags),
          }),
        );
      });
      const returnedAt = clock.now();
      const instance = response.Instances?.[0];
      if (!instance?.InstanceId)
        return { status: 'failed', key: spec.key, reason: 'RunInstances returned no instance' };
      return {
        status: 'launched',
        key: spec.key,
        instanceId: instance.InstanceId,
        privateIp: instance.PrivateIpAddress,
        subnetId,
        availabilityZone: instance.Placement?.AvailabilityZone,
        runInstancesStartedAt: startedAt,
        runInstancesReturnedAt: returnedAt,
        reason: `launched in ${subnetId}${refusals.length ? ` after ${refusals.join('; ')}` : ''}`,
      };
    } catch (error) {
      const { message, code } = describeError(error);
      if (code && CAPACITY_ERRORS.has(code)) {
        refusals.push(`${subnetId}: ${code}`);
        continue;
      }
      return { status: 'failed', key: spec.key, reason: message, code };
    }
  }
  return {
    status: 'skipped',
    key: spec.key,
    reason: `no capacity for ${spec.instanceType} in any test subnet (${refusals.join('; ') || 'no subnets'})`,
  };
}

/** State of one instance as one DescribeInstances call saw it. */
export interface InstanceState {
  readonly state: string;
  readonly privateIp?: string;
  readonly publicIp?: string;
}

/** States of many instances with ONE DescribeInstances call; ids not yet visible are simply absent. */
export async function describeInstanceStates(
  ec2: EC2Client,
  limiter: RateLimiter,
  region: string,
  instanceIds: readonly string[],
): Promise<Map<string, InstanceState>> {
  const states = new Map<string, InstanceState>();
  if (instanceIds.length === 0) return states;
  try {
    const response = await limiter.run(region, 'DescribeInstances', () =>
      ec2.send(new DescribeInstancesCommand({ InstanceIds: [...instanceIds] })),
    );
    for (const reservation of response.Reservations ?? [])
      for (const instance of reservation.Instances ?? [])
        if (instance.InstanceId)
          states.set(instance.InstanceId, {
            state: instance.State?.Name ?? 'unknown',
            privateIp: instance.PrivateIpAddress,
            publicIp: instance.PublicIpAddress,
          });
  } catch (error) {
    // A just-launched instance may not be visible yet (eventual consistency); the next poll sees it.
    if (describeError(error).code !== 'InvalidInstanceID.NotFound') throw error;
  }
  return states;
}

/** When each instance was first seen running, or the state it ended in instead. */
export interface RunningWatch {
  readonly runningAt: Map<string, number>;
  readonly gaveUp: Map<string, string>;
  readonly polls: number;
}

/**
 * Polls pending -> running for all in-flight instances together: one DescribeInstances call per poll, however many
 * instances there are, so a large run stays far below the API's request budget.
 */
export async function waitUntilRunning(
  ec2: EC2Client,
  limiter: RateLimiter,
  clock: Clock,
  region: string,
  instanceIds: readonly string[],
  options: { readonly intervalMs: number; readonly timeoutMs: number },
): Promise<RunningWatch> {
  const runningAt = new Map<string, number>();
  const gaveUp = new Map<string, string>();
  const deadline = clock.now() + options.timeoutMs;
  let polls = 0;
  for (;;) {
    const waiting = instanceIds.filter((id) => !runningAt.has(id) && !gaveUp.has(id));
    if (waiting.length === 0) break;
    if (clock.now() >= deadline) {
      for (const id of waiting) gaveUp.set(id, `not running after ${options.timeoutMs / 1000} s`);
      break;
    }
    polls++;
    const states = await describeInstanceStates(ec2, limiter, region, waiting);
    const seenAt = clock.now();
    for (const id of waiting) {
      const state = states.get(id)?.state;
      if (state === 'running') runningAt.set(id, seenAt);
      else if (state && state !== 'pending') gaveUp.set(id, `went ${state} before running`);
    }
    if (instanceIds.every((id) => runningAt.has(id) || gaveUp.has(id))) break;
    await clock.sleep(options.intervalMs);
  }
  return { runningAt, gaveUp, polls };
}

/** The instance's console, base64-decoded; `Latest=true` on Nitro types, where it is supported. */
export async function fetchConsoleText(
  ec2: EC2Client,
  limiter: RateLimiter,
  region: string,
  instanceId: string,
  instanceType: string,
): Promise<string> {
  const response = await limiter.run(region, 'GetConsoleOutput', () =>
    ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId, Latest: isNitro(instanceType) ? true : undefined })),
  );
  return response.Output ? Buffer.from(response.Output, 'base64').toString('utf8') : '';
}
