import type { StackFunction } from '../../bin/local/template';
import { handler as hotplug } from '../../lambdas/boot/hotplug';
import { currentInvocation, runInvocation } from '../../lambdas/shared/invocation';
import { type SeededImage, seedFleet, weeklyFleet } from '../support/fleet';
import { BOOT_REGION, BootWorkflowHarness } from '../support/boot-pipeline';
import { resetEmulator } from '../support/emulator';

// The synthesized boot test state machine on the local engine, each task running its real handler against the
// emulator, with Lambda failures injected where Step Functions would see them: the Catch paths run for real, and
// what they leave behind is read back from the emulator.

let harness: BootWorkflowHarness;
let images: SeededImage[];
/** Hot-plug batches see a clock 9 minutes ahead once a first cycle has detached: past their 8-minute budget. */
const detached = () => harness.calls.some((c) => c.command === 'DetachVolumeCommand');

beforeAll(async () => {
  await resetEmulator();
  harness = await BootWorkflowHarness.create(
    {
      bootTest: {
        instanceTypes: { amd64: ['c7i.large', 'm7a.large'], arm64: ['c7g.large'] },
        hotplugCycles: 3,
        timeoutSeconds: 30,
      },
    },
    {
      handlers: {
        'boot/hotplug.ts': (event) => {
          const invocation = currentInvocation();
          const clock = {
            now: () => invocation.clock.now() + (detached() ? 9 * 60_000 : 0),
            sleep: invocation.clock.sleep,
          };
          return runInvocation({ ...invocation, clock }, () => hotplug(event));
        },
      },
    },
  );
  images = await seedFleet(
    harness.world.clients,
    weeklyFleet({
      regions: [BOOT_REGION],
      series: ['15.0-CURRENT/amd64/base/zfs', '15.0-CURRENT/arm64/base/ufs'],
      weeks: 1,
      newestBuildDate: '2026-11-26',
    }),
  );
});
afterEach(async () => {
  // Whatever failed, nothing a run launched or created may outlive it.
  expect(await harness.leftovers()).toEqual({ instances: [], volumes: [] });
  harness.reset();
});
afterAll(() => harness?.close());

const fn = (entry: string): StackFunction =>
  [...harness.pipeline.engine.functions.values()].find((f) => f.entry === entry)!;
const invocations = (entry: string) => harness.pipeline.engine.stats.get(fn(entry).logicalId)!.invocations;
const imageIds = () => images.map((i) => i.imageId);
const amd64 = () => [images.find((i) => i.arch === 'amd64')!.imageId];
/** Faults stay armed until used: each one is scoped to the run it is meant for. */
const inRun = (runId: string) => (event: unknown) => (event as { runId?: string }).runId === runId;

describe('the boot test state machine on the local engine', () => {
  test('a launch step failing for good is that launch’s failure; the batch goes on and every instance ends', async () => {
    harness.pipeline.engine.injectFault({
      functionId: fn('boot/launch.ts').logicalId,
      error: 'LaunchCrashed',
      message: 'injected launch failure',
      when: (event) => (event as { slot: number }).slot === 1,
    });
    // A lost response after the instance was launched: Lambda's own error, so the task retries the launch.
    harness.pipeline.engine.injectFault({
      functionId: fn('boot/launch.ts').logicalId,
      error: 'Lambda.ServiceException',
      afterHandler: true,
      when: (event) => (event as { slot: number }).slot === 2,
    });
    harness.pipeline.engine.injectFault({
      functionId: fn('boot/probe.ts').logicalId,
      error: 'ProbeCrashed',
      message: 'injected probe failure',
    });

    const { report, results } = await harness.run({ imageIds: imageIds() }, 'catch-launch');

    expect(report.status).toBe('SUCCEEDED');
    expect(results.map((r) => r.status).sort()).toEqual(['failed', 'failed', 'passed']);
    expect(results.map((r) => r.reason)).toEqual(
      expect.arrayContaining([
        'a workflow step failed after its retries: LaunchCrashed: injected launch failure',
        'a workflow step failed after its retries: ProbeCrashed: injected probe failure',
      ]),
    );
    // Slot 1 never launched; slot 2's retried invocation found its launch recorded and launched nothing twice.
    expect(harness.calls.filter((c) => c.command === 'RunInstancesCommand')).toHaveLength(2);
    // Slot 1 failed before its handler ran; slot 2 ran twice, slot 3 once.
    expect(invocations('boot/launch.ts')).toBe(3);
    expect(report.output).toMatchObject({ launches: 3, failed: 2, passed: 1 });
  });

  test('hot-plug cycles resume across invocations, carrying the kept volume, then port 22 is checked again', async () => {
    const before = invocations('boot/hotplug.ts');

    const { report, results } = await harness.run({ imageIds: amd64(), instanceTypes: ['c7i.large'] }, 'resume');

    expect([report.status, report.failedTask]).toEqual(['SUCCEEDED', undefined]);
    expect(invocations('boot/hotplug.ts') - before).toBe(2);
    expect(harness.calls.filter((c) => c.command === 'CreateVolumeCommand')).toHaveLength(1);
    expect(results[0]!.checks).toEqual([
      expect.objectContaining({ name: 'hotplug', passed: true, cycles: 3 }),
      expect.objectContaining({ name: 'stop', passed: true }),
    ]);
  });

  test('a hot-plug batch failing between batches is recorded, and the batch cleanup deletes its kept volume', async () => {
    harness.pipeline.engine.injectFault({
      functionId: fn('boot/hotplug.ts').logicalId,
      error: 'HotplugCrashed',
      message: 'injected hot-plug failure',
      when: (event) =>
        inRun('catch-hotplug')(event) && (event as { resume: { volumeId?: string } }).resume.volumeId !== undefined,
    });

    const { report, results } = await harness.run({ imageIds: amd64(), instanceTypes: ['c7i.large'] }, 'catch-hotplug');

    expect(report.status).toBe('SUCCEEDED');
    expect(results).toEqual([
      expect.objectContaining({
        status: 'failed',
        reason: 'a workflow step failed after its retries: HotplugCrashed: injected hot-plug failure',
      }),
    ]);
    expect(harness.calls.filter((c) => c.command === 'DeleteVolumeCommand').length).toBeGreaterThanOrEqual(1);
  });

  test('when even recording a failure fails, the run is closed, cleaned up, and the execution fails', async () => {
    harness.pipeline.engine.injectFault({
      functionId: fn('boot/inspect.ts').logicalId,
      error: 'JudgeCrashed',
      times: 1000,
      when: inRun('catch-batch'),
    });

    const { report, run, rows } = await harness.run({ imageIds: imageIds() }, 'catch-batch');

    expect([report.status, report.cause]).toEqual([
      'FAILED',
      'the boot test failed; every test instance and volume was removed',
    ]);
    expect(run?.closed).toBe(true);
    expect(rows).toEqual([]);
    expect(harness.calls.filter((c) => c.command === 'TerminateInstancesCommand').length).toBeGreaterThanOrEqual(1);
  });

  test.each([
    ['boot/plan.ts', 'PlanCrashed'],
    ['boot/record.ts', 'RecordCrashed'],
  ])('when %s fails, the execution cleans up and fails', async (entry, error) => {
    harness.pipeline.engine.injectFault({ functionId: fn(entry).logicalId, error });
    const cleanups = invocations('boot/cleanup.ts');

    const { report } = await harness.run({ imageIds: imageIds() }, `catch-${error}`);

    expect([report.status, report.failedTask?.error]).toEqual(['FAILED', error]);
    expect(invocations('boot/cleanup.ts') - cleanups).toBeGreaterThanOrEqual(1);
  });
});
