import { createHash } from 'node:crypto';
import { instanceTypeArchitecture, type PipelineConfig } from '../config';
import { ConfigError } from '../errors';
import type { Architecture, NamingProfile } from '../naming/types';
import { revisionOf } from './regression';

/** An image to boot-test, as read from DescribeImages. */
export interface BootImage {
  readonly imageId: string;
  readonly region: string;
  readonly name: string;
  readonly description?: string;
}

/** Extra checks run on one launch after its port 22 opened. */
export interface LaunchChecks {
  /** StopInstances through the API, timed until `stopped`. */
  readonly stop: boolean;
  /** Attach/detach cycles of a small gp3 volume; 0 skips the check. */
  readonly hotplugCycles: number;
}

/** One instance to launch: an image on an instance type, in a round of repeats. */
export interface LaunchSpec {
  /** Unique within the run: `<imageId>/<instanceType>/<round>`. */
  readonly key: string;
  readonly imageId: string;
  readonly region: string;
  readonly imageName: string;
  readonly description?: string;
  /** `<branch>@<revision>` from the description, naming the build in regression messages. */
  readonly revision?: string;
  readonly seriesKey: string;
  readonly arch: Architecture;
  readonly flavour: string;
  readonly buildDate?: string;
  readonly instanceType: string;
  /** 0-based repeat; round 0 is the cold first boot that statistics discard when there are repeats. */
  readonly round: number;
  /** Deterministic, so a re-invoked launch step never starts a second instance. */
  readonly clientToken: string;
  /** User data (plain text) that turns off first-boot updates and package installs. */
  readonly userData: string;
  readonly checks: LaunchChecks;
  readonly reason: string;
}

/** An image the plan leaves out, with why. */
export interface PlanSkip {
  readonly imageId: string;
  readonly name: string;
  readonly reason: string;
}

/** What a boot test run launches, round by round (rounds run one after the other). */
export interface BootTestPlan {
  readonly runId: string;
  readonly rounds: LaunchSpec[][];
  readonly skipped: PlanSkip[];
}

export interface PlanOptions {
  readonly runId: string;
  readonly images: readonly BootImage[];
  readonly config: PipelineConfig['bootTest'];
  readonly profile: NamingProfile;
  /** Instance types named by an operator; each image gets the ones of its architecture. */
  readonly instanceTypes?: readonly string[];
  /** Repeats per (image, type); defaults to `bootTest.runs`. */
  readonly runs?: number;
}

// FreeBSD's EC2 images read user data with configinit: a first line `>>/etc/rc.conf` appends the rest to rc.conf.
// The cloud-init flavour hands user data to cloud-init instead.
const CONFIGINIT_USER_DATA = '>>/etc/rc.conf\nfirstboot_freebsd_update_enable="NO"\nfirstboot_pkgs_enable="NO"\n';
const CLOUD_INIT_USER_DATA = '#cloud-config\npackage_update: false\npackage_upgrade: false\npackages: []\n';

/**
 * A clean FreeBSD stop takes seconds; EC2 forces a stop of an OS that ignores the ACPI power button only after
 * minutes, so a stop slower than this is one the OS did not perform itself.
 */
export const STOP_CLEAN_SECONDS = 120;

/** Size of the gp3 volume the hot-plug check attaches and detaches; IAM caps CreateVolume at it. */
export const HOTPLUG_VOLUME_GIB = 1;

/** User data that keeps a test boot from updating itself or installing packages, by image flavour. */
export function userDataFor(flavour: string): string {
  return flavour === 'cloud-init' ? CLOUD_INIT_USER_DATA : CONFIGINIT_USER_DATA;
}

/** A RunInstances ClientToken (at most 64 ASCII characters) derived from what makes a launch unique. */
export function launchClientToken(runId: string, imageId: string, instanceType: string, round: number): string {
  const digest = createHash('sha256').update(`${runId}\n${imageId}\n${instanceType}\n${round}`).digest('hex');
  return `boot-${digest.slice(0, 40)}`;
}

/** The instance type that runs the stop and hot-plug checks for an architecture. */
export function referenceType(config: PipelineConfig['bootTest'], arch: Architecture): string {
  return config.referenceTypes[arch] ?? config.instanceTypes[arch][0]!;
}

/**
 * Plans the launches of a boot test: each managed image on every configured instance type of its architecture,
 * `runs` times. An operator-named type of the wrong architecture for an image is a configuration error, never a launch.
 */
export function planBootTest(options: PlanOptions): BootTestPlan {
  const runs = options.runs ?? options.config.runs;
  const skipped: PlanSkip[] = [];
  const rounds: LaunchSpec[][] = Array.from({ length: runs }, () => []);
  const requested = options.instanceTypes?.length ? [...new Set(options.instanceTypes)] : undefined;
  if (requested) assertKnownTypes(requested);
  const mismatches: string[] = [];
  const seen = new Set<string>();
  for (const image of options.images) {
    if (seen.has(`${image.region}/${image.imageId}`)) continue;
    seen.add(`${image.region}/${image.imageId}`);
    const parsed = options.profile.parse(image.name);
    if (!parsed.managed) {
      skipped.push({ imageId: image.imageId, name: image.name, reason: `name not understood: ${parsed.reason}` });
      continue;
    }
    const types = requested
      ? requested.filter((type) => instanceTypeArchitecture(type) === parsed.arch)
      : options.config.instanceTypes[parsed.arch];
    if (requested && types.length === 0) {
      mismatches.push(
        `${image.imageId} (${image.name}) is ${parsed.arch} but ${requested.join(', ')} ${requested.length === 1 ? 'is' : 'are'} ${instanceTypeArchitecture(requested[0]!)}`,
      );
      continue;
    }
    const reference = referenceType(options.config, parsed.arch);
    for (const instanceType of types) {
      const checked = instanceType === reference;
      for (let round = 0; round < runs; round++) {
        const checks: LaunchChecks =
          checked && round === 0
            ? { stop: options.config.stopCheck, hotplugCycles: options.config.hotplugCycles }
            : { stop: false, hotplugCycles: 0 };
        rounds[round]!.push({
          key: `${image.imageId}/${instanceType}/${round}`,
          imageId: image.imageId,
          region: image.region,
          imageName: image.name,
          description: image.description,
          revision: revisionOf(options.profile.parseDescription(image.description)),
          seriesKey: parsed.seriesKey,
          arch: parsed.arch,
          flavour: parsed.flavour,
          buildDate: parsed.buildDate,
          instanceType,
          round,
          clientToken: launchClientToken(options.runId, image.imageId, instanceType, round),
          userData: userDataFor(parsed.flavour),
          checks,
          reason: launchReason(parsed.arch, instanceType, round, runs, checked, requested !== undefined),
        });
      }
    }
  }
  if (mismatches.length)
    throw new ConfigError(`instance types do not match the image architecture:\n  ${mismatches.join('\n  ')}`);
  return { runId: options.runId, rounds: rounds.filter((r) => r.length > 0), skipped };
}

function assertKnownTypes(types: readonly string[]): void {
  const unknown = types.filter((t) => instanceTypeArchitecture(t) === undefined);
  if (unknown.length)
    throw new ConfigError(
      `not instance type names like c7g.large: ${unknown.map((t) => JSON.stringify(t)).join(', ')}`,
    );
}

function launchReason(
  arch: Architecture,
  instanceType: string,
  round: number,
  runs: number,
  reference: boolean,
  requested: boolean,
): string {
  const source = requested ? 'named on the command line' : `configured for ${arch}`;
  const repeat =
    runs > 1 ? `; run ${round + 1} of ${runs}${round === 0 ? ' (cold boot, left out of the median)' : ''}` : '';
  const checks = reference && round === 0 ? `; reference ${arch} type, so stop and hot-plug checks run` : '';
  return `${instanceType} is ${source}${repeat}${checks}`;
}

// Xen-based families: their console output lags by minutes and `Latest=true` is refused.
const XEN_FAMILIES = new Set([
  'c1',
  'c3',
  'c4',
  'd2',
  'g2',
  'g3',
  'g3s',
  'h1',
  'i2',
  'i3',
  'm1',
  'm2',
  'm3',
  'm4',
  'p2',
  'p3',
  'r3',
  'r4',
  't1',
  't2',
  'x1',
  'x1e',
]);

/** Whether an instance type runs on Nitro, where GetConsoleOutput accepts `Latest=true`. */
export function isNitro(instanceType: string): boolean {
  const [family, size] = instanceType.split('.');
  if (!family) return false;
  if (size === 'metal') return true;
  return !XEN_FAMILIES.has(family);
}

/**
 * Launches one batch holds at most: what an inline Map state of Step Functions runs at once, so every launch of a
 * batch starts, and is probed, without queueing behind another.
 */
export const MAX_BATCH_SIZE = 40;

/**
 * Splits each round into batches of at most `maxSize` launches, as even as possible, keeping the plan's order;
 * batches run one after the other, so a repeat always comes after the earlier boots of its image.
 */
export function batchLaunches(rounds: readonly (readonly LaunchSpec[])[], maxSize = MAX_BATCH_SIZE): LaunchSpec[][] {
  const batches: LaunchSpec[][] = [];
  for (const round of rounds) {
    const count = Math.ceil(round.length / maxSize);
    for (let index = 0, start = 0; index < count; index++) {
      const size = Math.ceil((round.length - start) / (count - index));
      batches.push(round.slice(start, start + size));
      start += size;
    }
  }
  return batches;
}

/** The shape of a planned run, as far as the size of its execution history depends on it. */
export interface RunShape {
  readonly batchSizes: readonly number[];
  /** Launches that run the hot-plug check (reference type, first round). */
  readonly checkedLaunches: number;
  readonly hotplugCycles: number;
}

/** Hot-plug cycles one 8-minute batch is assumed to get through (an attach and a detach take seconds each). */
const CYCLES_PER_HOTPLUG_BATCH = 16;
/** Running-poller invocations a batch is assumed to need (each watches up to 14 minutes). */
const POLLS_PER_BATCH = 2;

/**
 * History events of one boot test execution of this shape, counted as Step Functions counts them (a Task state 5,
 * a Pass or Choice 2, a Map or Parallel 4, a Map iteration 2): 21 for the run's own states, 19 per batch plus 7 per
 * poller invocation, 21 per launch, 14 more per checked launch and 9 per further hot-plug batch. Retries add 3 each.
 */
export function historyEventEstimate(shape: RunShape): number {
  const launches = shape.batchSizes.reduce((sum, size) => sum + size, 0);
  const hotplugBatches = shape.hotplugCycles > 0 ? Math.ceil(shape.hotplugCycles / CYCLES_PER_HOTPLUG_BATCH) : 0;
  const perChecked = hotplugBatches > 0 ? 14 + 9 * (hotplugBatches - 1) : 0;
  return 21 + shape.batchSizes.length * (19 + 7 * POLLS_PER_BATCH) + 21 * launches + perChecked * shape.checkedLaunches;
}

/** History events one execution may plan for: Step Functions' 25,000, less a tenth kept for retries. */
export const HISTORY_EVENT_BUDGET = 22_500;
