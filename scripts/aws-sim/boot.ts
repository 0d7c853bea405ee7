import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PortCheck, PortProbe, ProbeTarget, WatchOptions } from '../../lambdas/aws/boot/tcp-probe';
import type { ProbeObservation } from '../../lambdas/core/boot/result';
import { FREEBSD_SSH_BANNER } from '../../test/support/simulated-hosts';
import type { BootOutcome, BootProfile, Physics } from './physics';
import type { World } from './world';

/** When an instance really booted, as the simulation decided it: what a measurement is judged against. */
export interface BootTruth {
  readonly instanceId: string;
  readonly region: string;
  readonly instanceType: string;
  readonly imageId: string;
  readonly imageName: string;
  readonly outcome: BootOutcome;
  /** When EC2 processed RunInstances, and when its answer reached the caller. */
  readonly requestedAt: number;
  readonly returnedAt: number;
  readonly runningAt: number;
  /** Port 22 starts refusing (the network stack is up); undefined when it never does. */
  readonly networkUpAt?: number;
  /** Port 22 accepts (sshd listens); undefined when it never does. */
  readonly sshdUpAt?: number;
  /** When a failed boot stopped (panic, mount-root prompt). */
  readonly failedAt?: number;
  /** Boot time as ec2-boot-bench defines it: RunInstances return to sshd accepting, in seconds. */
  readonly bootSeconds?: number;
  readonly hotplugLimit?: number;
  readonly stopMs: number;
}

/** Ready-made boot behaviours for scenarios. */
export const BOOT_PROFILES = {
  /** A series whose boots take `factor` times as long. */
  slowSeries: (imageName: RegExp, factor: number): BootProfile => ({ match: { imageName }, slowdown: factor }),
  /** Graviton 2 types waiting for entropy before sshd starts. */
  entropyWaitOnGraviton2: (ms = 12_000): BootProfile => ({
    match: { instanceType: /^(c6g|m6g|r6g|t4g|c6gn|c6gd|m6gd|r6gd|x2gd|im4gn|is4gen)\./ },
    extraSshdMs: ms,
  }),
  /** Images that panic during boot. */
  panic: (imageName: RegExp): BootProfile => ({ match: { imageName }, outcome: 'panic' }),
  /** Images that stop at the mountroot prompt. */
  mountRootFailure: (imageName: RegExp): BootProfile => ({ match: { imageName }, outcome: 'mountroot' }),
  /** Images that never bring the network up, and print nothing. */
  neverBoots: (imageName: RegExp): BootProfile => ({ match: { imageName }, outcome: 'never' }),
  /** Images that boot, but wait for the instance metadata service first. */
  imdsTimeout: (imageName: RegExp, ms = 30_000): BootProfile => ({
    match: { imageName },
    outcome: 'slow-imds',
    extraSshdMs: ms,
  }),
} as const;

function matches(profile: BootProfile, launch: LaunchFacts): boolean {
  const m = profile.match;
  if (!m) return true;
  if (m.imageId !== undefined && m.imageId !== launch.imageId) return false;
  if (m.imageName && !m.imageName.test(launch.imageName)) return false;
  if (m.architecture && m.architecture !== launch.architecture) return false;
  if (m.instanceType !== undefined) {
    if (
      typeof m.instanceType === 'string'
        ? m.instanceType !== launch.instanceType
        : !m.instanceType.test(launch.instanceType)
    )
      return false;
  }
  return true;
}

/** What the boot model needs to know about a launch. */
export interface LaunchFacts {
  readonly instanceId: string;
  readonly region: string;
  readonly instanceType: string;
  readonly imageId: string;
  readonly imageName: string;
  readonly architecture: string;
  readonly requestedAt: number;
  readonly returnedAt: number;
}

/**
 * Decides how an instance boots. Base times are drawn once per (series, instance type), so that weekly builds of a
 * series boot alike and only a profile (a slow series, an entropy wait) moves them; each boot varies a little
 * around its base. Profiles apply in order, later ones overriding earlier ones.
 */
export function planBoot(world: World, physics: Physics, launch: LaunchFacts): BootTruth {
  const applied = physics.boot.profiles.filter((p) => matches(p, launch));
  const pick = <K extends keyof BootProfile>(key: K): BootProfile[K] | undefined =>
    applied.reduce<BootProfile[K] | undefined>((value, p) => (p[key] === undefined ? value : p[key]), undefined);
  // The build date is left out of the key: every week's build of a series shares the base times.
  const series = launch.imageName.replace(/-\d{8}\b/, '');
  const base = `boot-base:${series}:${launch.instanceType}`;
  const jitter = world.random(`boot:${launch.instanceId}`);
  const vary = (ms: number) => (physics.boot.jitterSigma > 0 ? ms * jitter.lognormal(1, physics.boot.jitterSigma) : ms);
  const slowdown = applied.reduce((factor, p) => factor * (p.slowdown ?? 1), 1);
  const extra = applied.reduce((sum, p) => sum + (p.extraSshdMs ?? 0), 0);
  const outcome = pick('outcome') ?? 'login';
  const pendingMs = world.draw(physics.instances.pendingMs, `pending:${launch.instanceId}`);
  const runningAt = launch.requestedAt + pendingMs;
  const networkMs = vary(world.draw(pick('networkMs') ?? physics.boot.networkMs, `${base}:network`)) * slowdown;
  const sshdMs = vary(world.draw(pick('sshdMs') ?? physics.boot.sshdMs, `${base}:sshd`)) * slowdown + extra;
  const stopMs = world.draw(pick('stopMs') ?? physics.boot.stopMs, `stop:${launch.instanceId}`);
  const truth = {
    ...launch,
    outcome,
    runningAt,
    hotplugLimit: pick('hotplugLimit'),
    stopMs,
  };
  if (outcome === 'never') return truth;
  if (outcome === 'panic' || outcome === 'mountroot') return { ...truth, failedAt: runningAt + networkMs * 0.7 };
  const networkUpAt = Math.round(runningAt + networkMs);
  const sshdUpAt = Math.round(networkUpAt + sshdMs);
  return { ...truth, networkUpAt, sshdUpAt, bootSeconds: (sshdUpAt - launch.returnedAt) / 1000 };
}

const CONSOLE_DIR = join(__dirname, '..', '..', 'test', 'fixtures', 'console');
const consoleTexts = new Map<string, string[]>();

function fixture(name: string): string[] {
  let lines = consoleTexts.get(name);
  if (!lines) {
    lines = readFileSync(join(CONSOLE_DIR, name), 'utf8').split('\n');
    consoleTexts.set(name, lines);
  }
  return lines;
}

function consoleFixture(outcome: BootOutcome, architecture: string): string[] {
  switch (outcome) {
    case 'login':
      return fixture(architecture === 'arm64' ? 'arm64-zfs-login.txt' : 'amd64-ufs-login.txt');
    case 'slow-imds':
      return fixture('amd64-ufs-imds-timeout.txt');
    case 'panic':
      return fixture('amd64-zfs-panic.txt');
    case 'mountroot':
      return fixture('arm64-ufs-mountroot.txt');
    case 'never':
      return [];
  }
}

/**
 * The serial console of a booting instance at time `t`: recorded FreeBSD consoles chosen by the boot's outcome,
 * printed progressively from `running` until sshd is up (or the boot failed), all of it afterwards.
 */
export function consoleTextAt(truth: BootTruth, architecture: string, t: number): string {
  const lines = consoleFixture(truth.outcome, architecture);
  if (lines.length === 0 || t < truth.runningAt) return '';
  const end = truth.sshdUpAt ?? truth.failedAt ?? truth.runningAt;
  const share = end <= truth.runningAt ? 1 : Math.min(1, (t - truth.runningAt) / (end - truth.runningAt));
  return lines.slice(0, Math.max(1, Math.ceil(share * lines.length))).join('\n');
}

/** What the probe needs to know about the instance behind a private address. */
export interface ProbedHost {
  readonly truth: BootTruth;
  /** When the instance stopped answering (stop or terminate requested), if it did. */
  readonly downAt?: number;
}

/**
 * A {@link PortProbe} that watches simulated instances the way the TCP probe watches real ones: an attempt every
 * `intervalMs` from the start (on a fixed grid), nothing back while the network is down, "refused" once it is up,
 * "accepted" (and the SSH banner) once sshd listens. Attempts are computed, not timed one by one, so a 600-second
 * watch costs one timer; the observation differs from the truth only by the grid's quantization.
 */
export class SimulatedPortProbe implements PortProbe {
  constructor(
    private readonly lookup: (host: string) => ProbedHost | undefined,
    private readonly now: () => number = () => Date.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  async watch(target: ProbeTarget, options: WatchOptions): Promise<ProbeObservation> {
    const startedAt = this.now();
    const deadline = startedAt + options.timeoutMs;
    const interval = Math.max(1, options.intervalMs);
    // The first attempt at or after `t` on the grid startedAt + k * interval.
    const slotAt = (t: number) => startedAt + Math.max(0, Math.ceil((t - startedAt) / interval)) * interval;
    const attemptsUntil = (t: number) => Math.floor((t - startedAt) / interval) + 1;
    const since = (t: number) => `${((t - startedAt) / 1000).toFixed(3)} s`;
    const host = this.lookup(target.host);
    const truth = host?.truth;
    const alive = (t: number) => host !== undefined && (host.downAt === undefined || t < host.downAt);
    const closedAt =
      truth?.networkUpAt !== undefined && slotAt(truth.networkUpAt) < deadline && alive(slotAt(truth.networkUpAt))
        ? slotAt(truth.networkUpAt)
        : undefined;
    const openAt = truth?.sshdUpAt !== undefined ? slotAt(truth.sshdUpAt) : undefined;
    if (openAt !== undefined && openAt < deadline) {
      await this.sleep(openAt - startedAt);
      // Checked when the attempt is made: a stop or terminate since the watch began closes the port.
      const fresh = this.lookup(target.host);
      if (fresh && (fresh.downAt === undefined || openAt < fresh.downAt)) {
        const refused = closedAt !== undefined && closedAt < openAt ? closedAt : undefined;
        return {
          outcome: 'open',
          startedAt,
          closedAt: refused,
          openAt,
          banner: FREEBSD_SSH_BANNER,
          attempts: attemptsUntil(openAt),
          reason: `port ${target.port} ${refused === undefined ? '' : `refused at +${since(refused)}, `}accepted at +${since(openAt)} (${FREEBSD_SSH_BANNER})`,
        };
      }
    }
    const remaining = deadline - this.now();
    if (remaining > 0) await this.sleep(remaining);
    const seconds = `${Number((options.timeoutMs / 1000).toFixed(1))} s`;
    const refused = closedAt !== undefined && alive(closedAt) ? closedAt : undefined;
    return {
      outcome: 'timeout',
      startedAt,
      closedAt: refused,
      attempts: attemptsUntil(deadline),
      reason:
        refused === undefined
          ? `port ${target.port} never answered within ${seconds}`
          : `port ${target.port} refused at +${since(refused)} but never accepted within ${seconds}`,
    };
  }

  async check(target: ProbeTarget, timeoutMs: number): Promise<PortCheck> {
    const now = this.now();
    const host = this.lookup(target.host);
    const up = host !== undefined && (host.downAt === undefined || now < host.downAt);
    if (up && host.truth.sshdUpAt !== undefined && now >= host.truth.sshdUpAt)
      return { open: true, banner: FREEBSD_SSH_BANNER, reason: `port ${target.port} accepted (${FREEBSD_SSH_BANNER})` };
    if (up && host.truth.networkUpAt !== undefined && now >= host.truth.networkUpAt)
      return { open: false, reason: `port ${target.port} refused` };
    await this.sleep(timeoutMs);
    return { open: false, reason: `port ${target.port} did not answer` };
  }
}
