import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  EC2Client,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ClientPlugin } from '../../lambdas/aws/clients';
import { unlimited } from '../../lambdas/aws/rate-limiter';
import type { CheckPoll } from '../../lambdas/aws/repro/checks';
import { mergeConfig, parseConfig } from '../../lambdas/core/config';
import { DynamoReproHistory } from '../../lambdas/aws/repro/history';
import type { ReproHistoryRow } from '../../lambdas/core/repro/history';
import { checkOutputFolder, type ReproCheck } from '../../lambdas/core/repro/plan';
import { REPRO_ENV } from '../../lambdas/repro/schemas';
import { TAG } from '../../lambdas/core/tags';
import { handler as poll } from '../../lambdas/repro/poll';
import { CONFIG_ENV } from '../../lambdas/shared/env';
import { currentInvocation, runInvocation } from '../../lambdas/shared/invocation';
import { DEMO_CONFIG_INPUT } from '../../scripts/demo-world';
import { STACK_OUTPUTS } from '../../lib/pipeline-stack';
import { type SeededImage, seedFleet, weeklyFleet } from '../support/fleet';
import { runCli } from '../support/cli';
import { emulatorEndpoint, resetEmulator } from '../support/emulator';
import { type EmulatorPipeline, emulatorPipeline } from '../support/local-pipeline';
import { DAY_MS } from '../../lambdas/core/time';

// The synthesized reproducibility state machine on the local engine against the emulator. The builder instance's
// part is simulated: each check's poll runs on a clock of its own that moves half an hour per look, and at
// the scenario's time the test writes what the instance job would have written to the bucket and ends the instance.

const REGION = DEMO_CONFIG_INPUT.buildRegion!;
/** Saturday noon of ISO week 2026-W48, when the schedule starts the checks. */
const BASE = Date.parse('2026-11-28T12:00:00Z');
const STARTED = Date.now();
const POLL_STEP_MS = 30 * 60_000;
const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'repro', name), 'utf8');

/** What the simulated instance of one image does, in minutes after its launch. */
type Scenario =
  | { readonly kind: 'reports'; readonly at: number; readonly objects: Readonly<Record<string, string>> }
  | { readonly kind: 'ends-silently'; readonly at: number }
  | { readonly kind: 'keeps-running' };

let world: EmulatorPipeline;
let images: SeededImage[];
const scenarios = new Map<string, Scenario>();
const polls = new Map<string, number>();
const calls: { command: string; input: Record<string, unknown> }[] = [];

const ec2 = (): EC2Client => world.clients.client(EC2Client, REGION);
const bucket = () => world.pipeline.output(STACK_OUTPUTS.reportBucket);

/** Does at `elapsedMs` after launch what the instance job of this scenario would have done by then. */
async function simulateInstance(check: ReproCheck, instanceId: string, elapsedMs: number): Promise<void> {
  const scenario = scenarios.get(check.imageId);
  if (!scenario || scenario.kind === 'keeps-running' || elapsedMs < scenario.at * 60_000) return;
  const s3 = world.clients.client(S3Client, REGION);
  const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: bucket(), Key: key, Body: body }));
  // The instance's own folder: the prefix, then its IAM user id, the only place its role lets it write.
  const roleId = currentInvocation().env[REPRO_ENV.instanceRoleId]!;
  if (scenario.kind === 'reports') {
    // The summary goes last, as the job writes it.
    for (const [name, body] of Object.entries(scenario.objects).sort(([a], [b]) =>
      a === 'summary.json' ? 1 : b === 'summary.json' ? -1 : 0,
    ))
      await put(`${checkOutputFolder(check, roleId, instanceId)}${name}`, body);
  } else {
    // What another instance left beside this check's folder is never read as this check's report.
    const reproducible = fixture('summary-reproducible.json');
    await put(`${check.reportPrefix}summary.json`, reproducible);
    await put(`${checkOutputFolder(check, roleId, 'i-0000000000000000f')}summary.json`, reproducible);
  }
  // Power-off with shutdown behaviour terminate.
  await ec2().send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
  scenarios.delete(check.imageId);
}

const record: ClientPlugin = (stack, info) => {
  if (info.service !== 'ec2') return;
  stack.add(
    (next, context) => async (args) => {
      calls.push({ command: String(context.commandName), input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: 'initialize', name: 'reproRecord' },
  );
};

beforeAll(async () => {
  await resetEmulator();
  const clock = { now: () => BASE + (Date.now() - STARTED), sleep: currentClockSleep };
  // The demo's stack (synthesized once for the weekly-cycle test too), its functions given caps that let one week
  // hold every scenario.
  const config = parseConfig(
    mergeConfig(DEMO_CONFIG_INPUT, {
      repro: { maxChecksPerWeek: 6, maxInstanceHoursPerWeek: 40, timeBudgetMinutes: 240, graceMinutes: 30 },
    }),
  );
  world = await emulatorPipeline(DEMO_CONFIG_INPUT, {
    environment: { [CONFIG_ENV]: JSON.stringify(config) },
    clock,
    maxAttempts: 1,
    plugins: [record],
    services: () => ({ limiter: unlimited }),
    handlers: {
      'repro/poll.ts': async (event) => {
        const { check, launch } = event as { check: ReproCheck; launch: { instanceId: string; launchedAt: number } };
        const looks = (polls.get(check.imageId) ?? 0) + 1;
        polls.set(check.imageId, looks);
        const elapsed = (looks - 1) * POLL_STEP_MS;
        await simulateInstance(check, launch.instanceId, elapsed);
        const invocation = currentInvocation();
        const own = { now: () => launch.launchedAt + elapsed, sleep: invocation.clock.sleep };
        const looked = (await runInvocation({ ...invocation, clock: own }, () => poll(event))) as CheckPoll;
        // The half hour between looks passes on the check's own clock, not in real time.
        return { ...looked, waitSeconds: 0 };
      },
    },
  });
  images = await seedFleet(
    world.clients,
    weeklyFleet({
      regions: [REGION],
      series: ['15.0-CURRENT/arm64/builder/ufs', '14.3-STABLE/arm64/builder/ufs', '13.5-STABLE/arm64/builder/ufs'],
      weeks: 2,
      newestBuildDate: '2026-11-26',
    }),
  );
});

function currentClockSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(ms, 5)));
}

afterEach(async () => {
  // Whatever happened, nothing a check launched or created may outlive its run.
  const reservations = (await ec2().send(new DescribeInstancesCommand({}))).Reservations ?? [];
  const live = reservations.flatMap((r) => r.Instances ?? []).filter((i) => i.State?.Name !== 'terminated');
  const volumes = (await ec2().send(new DescribeVolumesCommand({}))).Volumes ?? [];
  expect(live.map((i) => i.InstanceId)).toEqual([]);
  expect(volumes.map((v) => `${v.VolumeId} ${v.State}`)).toEqual([]);
});

const image = (series: string, buildDate: string) =>
  images.find((i) => i.name.startsWith(`FreeBSD ${series}`) && i.name.includes(buildDate.replaceAll('-', '')))!;

async function history(): Promise<ReproHistoryRow[]> {
  return new DynamoReproHistory(
    world.clients.client(DynamoDBClient, REGION),
    world.pipeline.output(STACK_OUTPUTS.reproHistoryTable),
  ).list();
}

describe('the reproducibility workflow on the local engine', () => {
  test('success, differences, build failure, timeout and silence each end, clean up and are recorded and reported', async () => {
    // Prepare: the older 15-CURRENT build reproduces, the newer one does not (a change between their revisions).
    const good = image('15.0-CURRENT', '2026-11-19');
    const differs = image('15.0-CURRENT', '2026-11-26');
    const buildFails = image('14.3-STABLE', '2026-11-26');
    const timesOut = image('13.5-STABLE', '2026-11-26');
    const silent = image('14.3-STABLE', '2026-11-19');
    scenarios.set(good.imageId, {
      kind: 'reports',
      at: 90,
      objects: { 'summary.json': fixture('summary-reproducible.json'), 'build-log-tail.txt': 'ok\n' },
    });
    scenarios.set(differs.imageId, {
      kind: 'reports',
      at: 150,
      objects: {
        'summary.json': fixture('summary-differs.json'),
        'diffoscope.json': fixture('trees.json'),
        'diffoscope.txt': fixture('trees.txt'),
      },
    });
    scenarios.set(buildFails.imageId, {
      kind: 'reports',
      at: 45,
      objects: { 'summary.json': fixture('summary-build-failed.json') },
    });
    scenarios.set(timesOut.imageId, { kind: 'keeps-running' });
    scenarios.set(silent.imageId, { kind: 'ends-silently', at: 30 });
    const named = [good, differs, buildFails, timesOut, silent].map((i) => i.imageId);

    // Act
    const report = await world.pipeline.repro({ imageIds: named }, 'repro-w48').done;
    const digest = (await world.pipeline.digest(new Date(BASE + 3 * DAY_MS))) as { text: string; subject: string };

    // Assess: the run's output gives each result, the cost of the plan and what it left out.
    expect(report.status).toBe('SUCCEEDED');
    const output = report.output as unknown as {
      week: string;
      cost: { instanceHours: number; estimatedUsd: number; priceSource: string };
      results: { imageId: string; status: string; differingFiles: number; topPaths: string[] }[];
    };
    expect(output.week).toBe('2026-W48');
    expect(output.cost.instanceHours).toBe(22.5);
    expect(output.cost.estimatedUsd).toBeGreaterThan(10);
    const statuses = Object.fromEntries(output.results.map((r) => [r.imageId, r.status]));
    expect(statuses).toEqual({
      [good.imageId]: 'reproducible',
      [differs.imageId]: 'differs',
      [buildFails.imageId]: 'build-failed',
      [timesOut.imageId]: 'timeout',
      [silent.imageId]: 'no-report',
    });
    expect(output.results.find((r) => r.imageId === differs.imageId)).toMatchObject({
      differingFiles: 2,
      topPaths: ['boot/loader.conf', 'etc/motd'],
    });
    // The timed-out check was waited for through its whole budget and grace: 270 minutes in half hours.
    expect(polls.get(timesOut.imageId)).toBe(10);

    // Launched as the boot test launches: IMDSv2 required, no key pair, tagged, terminating on power-off, with the
    // instance job as user data; the AMI snapshot's volume made in the instance's zone and attached to it.
    const launches = calls.filter((c) => c.command === 'RunInstancesCommand').map((c) => c.input);
    expect(launches).toHaveLength(5);
    for (const launch of launches) {
      expect(launch.MetadataOptions).toMatchObject({ HttpTokens: 'required' });
      expect(launch.KeyName).toBeUndefined();
      expect(launch.InstanceInitiatedShutdownBehavior).toBe('terminate');
      expect(launch.InstanceType).toBe('c7g.4xlarge');
      expect(JSON.stringify(launch.TagSpecifications)).toContain(TAG.repro);
      const userData = Buffer.from(String(launch.UserData), 'base64').toString('utf8');
      expect(userData).toContain(`REPRO_PREFIX=repro/2026-W48/${launch.ImageId}/`);
      expect(userData).toMatch(/^REPRO_ROLE_ID=AROA[0-9A-Z]{17}$/m);
      expect(userData).toContain('REPRO_BRANCH=');
    }
    const created = calls.filter((c) => c.command === 'CreateVolumeCommand').map((c) => c.input.SnapshotId);
    expect(created.sort()).toEqual([good, differs, buildFails, timesOut, silent].map((i) => i.snapshotIds[0]).sort());
    expect(calls.filter((c) => c.command === 'AttachVolumeCommand')).toHaveLength(5);

    // One history row per image and week.
    const rows = await history();
    expect(rows.map((r) => [r.imageId, r.status, r.week]).sort()).toEqual(
      output.results.map((r) => [r.imageId, r.status, '2026-W48']).sort(),
    );

    // The digest says what happened to each, links diffoscope's output and names the revision range.
    expect(digest.text).toContain('Reproducibility checks');
    expect(digest.text).toContain(`${good.name} (${good.imageId}, ${good.description.split(' ')[1]}): reproducible`);
    expect(digest.text).toContain(
      `${differs.name} (${differs.imageId}, ${differs.description.split(' ')[1]}): NOT reproducible: 2 differing file(s)`,
    );
    expect(digest.text).toMatch(/ {4}etc\/motd\n/);
    const differsRow = rows.find((r) => r.imageId === differs.imageId)!;
    expect(differsRow.reportPrefix).toMatch(
      new RegExp(`^repro/2026-W48/${differs.imageId}/AROA[0-9A-Z]{17}:i-[0-9a-f]+/$`),
    );
    expect(digest.text).toContain(`prefix=${encodeURIComponent(`${differsRow.reportPrefix}diffoscope.txt`)}`);
    expect(digest.text).toContain(
      `${buildFails.name} (${buildFails.imageId}, ${buildFails.description.split(' ')[1]}): build failed`,
    );
    expect(digest.text).toContain(
      `${timesOut.name} (${timesOut.imageId}, ${timesOut.description.split(' ')[1]}): timed out`,
    );
    expect(digest.text).toContain(`${silent.name} (${silent.imageId}, ${silent.description.split(' ')[1]}): no report`);
    expect(digest.text).toContain(
      `15-CURRENT/arm64/builder/ufs: reproducible at ${good.description.split(' ')[1]} (2026-W48), not at ${differs.description.split(' ')[1]} (2026-W48)`,
    );
    expect(digest.subject).toContain('1 not reproducible');
  });

  test('a launch that fails is that check’s failure, recorded; a second run the same week starts nothing more', async () => {
    // Prepare: the week already holds five checks (22.5 instance-hours of 40): one more fits the hour cap.
    const remaining = image('13.5-STABLE', '2026-11-19');
    const launchFunction = [...world.pipeline.engine.functions.values()].find((f) => f.entry === 'repro/launch.ts')!;
    world.pipeline.engine.injectFault({ functionId: launchFunction.logicalId, error: 'LaunchCrashed', message: 'no' });

    // Act
    const first = await world.pipeline.repro({ imageIds: [remaining.imageId] }, 'repro-w48-b').done;
    const second = await world.pipeline.repro({}, 'repro-w48-c').done;

    // Assess
    expect(first.status).toBe('SUCCEEDED');
    const row = (await history()).find((r) => r.imageId === remaining.imageId)!;
    expect(row).toMatchObject({ status: 'failed', runId: 'repro-w48-b' });
    expect(row.reason).toContain('LaunchCrashed');
    const output = second.output as unknown as { results: unknown[]; skipped: { reason: string }[] };
    expect(output.results).toEqual([]);
    expect(output.skipped.map((s) => s.reason)).toContain('already checked in 2026-W48');
  });

  test('repro-history lists the recorded results of a line, newest week first', async () => {
    const table = world.pipeline.output(STACK_OUTPUTS.reproHistoryTable);

    const json = JSON.parse(
      await runCli(
        'repro-history',
        '--table',
        table,
        '--line',
        '15-CURRENT',
        '--output',
        'json',
        '--endpoint-url',
        emulatorEndpoint(),
      ),
    ) as ReproHistoryRow[];
    const text = await runCli(
      'repro-history',
      '--table',
      table,
      '--week',
      '2026-W48',
      '--endpoint-url',
      emulatorEndpoint(),
    );

    expect(json.map((r) => [r.lineKey, r.status]).sort()).toEqual([
      ['15-CURRENT/arm64/builder/ufs', 'differs'],
      ['15-CURRENT/arm64/builder/ufs', 'reproducible'],
    ]);
    expect(text.split('\n')[0]).toMatch(/^WEEK +LINE +REVISION +STATUS +DIFFERING/);
    expect(text).toContain('boot/loader.conf etc/motd');
  });
});
