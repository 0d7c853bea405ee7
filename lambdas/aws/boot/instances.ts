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
import { describeError, errorCode } from '../../core/errors';
import { type ManagedTag, TAG } from '../../core/tags';
import type { Clock, RateLimiter } from '../rate-limiter';
import type { BootEc2Calls, BootEc2Context } from './context';
import type { BootRunTable, LaunchRecord } from './runs';

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

/** EC2 answers that mean the account, not a zone, is full: another test instance has to end first. */
export const ACCOUNT_LIMIT_ERRORS: ReadonlySet<string> = new Set(['VcpuLimitExceeded']);

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

/** What launches act through: EC2, the rate limiter, a clock to time RunInstances by, and the test network. */
export interface LaunchContext {
  readonly ec2: EC2Client;
  readonly limiter: RateLimiter;
  readonly clock: Pick<Clock, 'now'>;
  readonly network: BootNetworkConfig;
}

/**
 * Launches one planned instance: IMDSv2 required, no key pair, user data that turns off first-boot updates, test
 * tags, a ClientToken per (launch, subnet) so a retried step never starts a second instance. Capacity errors move to
 * the next subnet's AZ.
 */
export async function launchInstance(
  { ec2, limiter, clock, network }: LaunchContext,
  spec: LaunchSpec,
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

/** How long a launch refused for the account's vCPU limit keeps trying, and how often. */
export interface LimitWait {
  /** Gives up (and reports the launch skipped) once this much time has passed since the first refusal. */
  readonly maxWaitMs: number;
  /** The first wait; each later one doubles, up to `maxDelayMs`, with jitter so waiting launches spread out. */
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
}

/** The waits of a launch under the account's vCPU limit: from 1/16 of the bound (at most 5 s), doubling to 60 s. */
export function limitWait(maxWaitMs: number): LimitWait {
  return { maxWaitMs, firstDelayMs: Math.min(5000, maxWaitMs / 16), maxDelayMs: 60_000 };
}

/** A launch's context when it may wait out the account's vCPU limit: a clock that sleeps, and how long to wait. */
export interface LimitedLaunchContext extends LaunchContext {
  readonly clock: Clock;
  readonly wait: LimitWait;
}

/**
 * Launches one planned instance like {@link launchInstance}; a refusal for the account's vCPU limit is not a failure
 * of the image: the launch waits with backoff while other test instances end, tries again, and is reported skipped,
 * with the reason, when the limit still holds after `wait.maxWaitMs`.
 */
export async function launchWithinLimits(
  ctx: LimitedLaunchContext,
  spec: LaunchSpec,
  tags: Tag[],
): Promise<LaunchOutcome> {
  const { clock, wait } = ctx;
  let firstRefusal: number | undefined;
  let refusals = 0;
  let delay = wait.firstDelayMs;
  for (;;) {
    const outcome = await launchInstance(ctx, spec, tags);
    if (outcome.status !== 'failed' || !outcome.code || !ACCOUNT_LIMIT_ERRORS.has(outcome.code)) {
      if (!refusals || outcome.status !== 'launched') return outcome;
      const waited = ((clock.now() - firstRefusal!) / 1000).toFixed(1);
      return { ...outcome, reason: `${outcome.reason} after ${refusals} vCPU limit refusal(s) over ${waited} s` };
    }
    firstRefusal ??= clock.now();
    refusals++;
    const waited = clock.now() - firstRefusal;
    if (waited + delay > wait.maxWaitMs)
      return {
        status: 'skipped',
        key: spec.key,
        reason: `the account's vCPU limit was reached: ${refusals} launch(es) refused over ${(waited / 1000).toFixed(1)} s while other test instances ran (${outcome.code}: ${outcome.reason})`,
      };
    await clock.sleep(delay / 2 + Math.random() * (delay / 2));
    delay = Math.min(delay * 2, wait.maxDelayMs);
  }
}

/** State of one instance as one DescribeInstances call saw it. */
export interface InstanceState {
  readonly state: string;
  readonly privateIp?: string;
  readonly publicIp?: string;
}

/** States of many instances with ONE DescribeInstances call; ids not yet visible are simply absent. */
export async function describeInstanceStates(
  { ec2, limiter, region }: BootEc2Calls,
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
    if (errorCode(error) !== 'InvalidInstanceID.NotFound') throw error;
  }
  return states;
}

/** The instance's console, base64-decoded; `Latest=true` on Nitro types, where it is supported. */
export async function fetchConsoleText(
  { ec2, limiter, region }: BootEc2Calls,
  { instanceId, instanceType }: { readonly instanceId: string; readonly instanceType: string },
): Promise<string> {
  const response = await limiter.run(region, 'GetConsoleOutput', () =>
    ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId, Latest: isNitro(instanceType) ? true : undefined })),
  );
  return response.Output ? Buffer.from(response.Output, 'base64').toString('utf8') : '';
}

const CLOSED_CHECK_EVERY = 8;

/** What one watch of a batch's instances did; `finished: false` asks the state machine to watch again. */
export interface BatchWatch {
  readonly finished: boolean;
  readonly polls: number;
  readonly seenRunning: number;
}

/** What a batch watch acts through: EC2 in the run's region and the run table it records sightings in. */
export interface BatchWatchContext extends BootEc2Context {
  readonly runs: BootRunTable;
}

/**
 * Records when each launched instance of a batch is first seen running. One DescribeInstances call per poll covers
 * every instance of the batch still pending, so a batch of 40 costs what a single instance would, well inside EC2's
 * non-mutating request bucket. Ends when every launch of the batch has settled (seen running, seen in another state,
 * or never launched), when the run was closed after a failure, or before `stopAt` so the invocation ends in time.
 */
export async function watchBatchRunning(
  ctx: BatchWatchContext,
  address: { readonly runId: string; readonly batch: number },
  options: { readonly pollMs: number; readonly stopAt: number },
): Promise<BatchWatch> {
  const { clock, runs } = ctx;
  let polls = 0;
  let seenRunning = 0;
  let looks = 0;
  for (;;) {
    const launches = await runs.batch(address.runId, address.batch);
    const waiting = launches.filter((l) => l.outcome?.status === 'launched' && !l.running);
    const launching = launches.filter((l) => !l.outcome && !l.result);
    if (waiting.length === 0 && launching.length === 0) return { finished: true, polls, seenRunning };
    // The run is closed only after a failure; a look every few seconds stops a poller soon enough.
    if (++looks % CLOSED_CHECK_EVERY === 0 && (await runs.run(address.runId)).closed)
      return { finished: true, polls, seenRunning };
    if (waiting.length) {
      polls++;
      const idOf = (launch: LaunchRecord) => (launch.outcome as { instanceId: string }).instanceId;
      const found = await describeByIdFilter(ctx, waiting.map(idOf));
      const at = clock.now();
      for (const launch of waiting) {
        const state = found.get(idOf(launch))?.state;
        if (state === 'running') {
          seenRunning++;
          await runs.setRunning(address.runId, launch, { runningAt: at });
        } else if (state && state !== 'pending')
          await runs.setRunning(address.runId, launch, { note: `${state} before a poll saw it running` });
        else if (!state && launch.result)
          await runs.setRunning(address.runId, launch, { note: 'judged and gone before a poll saw it running' });
      }
    }
    if (clock.now() + options.pollMs >= options.stopAt) return { finished: false, polls, seenRunning };
    await clock.sleep(options.pollMs);
  }
}

/** States of the given instances from one (paginated) DescribeInstances call; an unknown id is simply absent. */
export async function describeByIdFilter(
  { ec2, limiter, region }: BootEc2Calls,
  instanceIds: readonly string[],
): Promise<Map<string, InstanceState>> {
  const states = new Map<string, InstanceState>();
  let token: string | undefined;
  do {
    // A filter, unlike InstanceIds, does not fail the whole call for an id EC2 does not list yet.
    const page = await limiter.run(region, 'DescribeInstances', () =>
      ec2.send(
        new DescribeInstancesCommand({
          Filters: [{ Name: 'instance-id', Values: [...instanceIds] }],
          NextToken: token,
        }),
      ),
    );
    for (const reservation of page.Reservations ?? [])
      for (const instance of reservation.Instances ?? [])
        if (instance.InstanceId)
          states.set(instance.InstanceId, {
            state: instance.State?.Name ?? 'unknown',
            privateIp: instance.PrivateIpAddress,
            publicIp: instance.PublicIpAddress,
          });
    token = page.NextToken;
  } while (token);
  return states;
}
