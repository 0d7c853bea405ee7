import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { App, Stack } from 'aws-cdk-lib';
import { defaultConfig } from '../../lambdas/core/config';
import { BootTestWorkflow } from '../../lib/boot-test-workflow';
import { Notifications } from '../../lib/notifications';
import type { PipelineFunction } from '../../lib/pipeline-function';
import {
  ACCOUNT,
  logicalIdOf,
  payloadsTo,
  REGION,
  runExecution,
  type TemplateJson,
  templateDefinition,
  useWorkflowEmulator,
} from '../support/state-machine';

// The synthesized definition runs on the emulator's Step Functions engine. Its Lambda tasks return results queued in
// advance (the handlers have tests of their own), so this checks the definition itself: paths, the hot-plug batch
// loop and the per-round cleanup. The engine's queued results always succeed, so the Catch paths (cleanup, then fail)
// are asserted on the definition by the CDK tests instead.

const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new Stack(app, 'BootMachine', { env: { account: ACCOUNT, region: REGION } });
const workflow = new BootTestWorkflow(stack, 'BootTest', {
  config: defaultConfig(),
  notifications: new Notifications(stack, 'Notifications', { emails: [], alarmEmails: [] }),
});
const template = app.synth().getStackByName('BootMachine').template as TemplateJson;

const emulator = useWorkflowEmulator(template, 'boot', 60_000);

async function execute(name: string, results: readonly unknown[]) {
  return runExecution(emulator, {
    name,
    definition: templateDefinition(template),
    roleName: 'boot-states',
    executionName: 'weekly-20261128',
    input: { imageIds: ['ami-0123456789abcdef0'] },
    results,
  });
}

/** The payloads each function was invoked with, in order. */
function invoked(events: readonly HistoryEvent[], fn: PipelineFunction): unknown[] {
  return payloadsTo(events, logicalIdOf(stack, fn));
}

const entered = (events: readonly HistoryEvent[]) =>
  events.flatMap((e) => (e.stateEnteredEventDetails?.name ? [e.stateEnteredEventDetails.name] : []));

const spec = (hotplugCycles: number) => ({
  key: 'ami-0123456789abcdef0/c6g.large/0',
  imageId: 'ami-0123456789abcdef0',
  instanceType: 'c6g.large',
  clientToken: 'boot-x',
  checks: { stop: true, hotplugCycles },
});
const launched = (hotplugCycles: number) => ({
  launched: [
    {
      spec: spec(hotplugCycles),
      launch: { status: 'launched', instanceId: 'i-0abc', privateIp: '10.20.1.5', runInstancesReturnedAt: 1 },
      host: '10.20.1.5',
    },
  ],
  notLaunched: [],
  instanceIds: ['i-0abc'],
});
// The engine runs Parallel branches in threads, so which of WaitRunning and WatchPort takes which queued result is
// not fixed; both get this one object, which carries the fields either consumer reads.
const watched = { runningAt: { 'i-0abc': 2 }, gaveUp: {}, outcome: 'open', startedAt: 1, openAt: 9, attempts: 3 };
const plan = (hotplugCycles: number) => ({
  runId: 'weekly-20261128',
  rounds: [{ launches: [spec(hotplugCycles)] }],
  skippedImages: [],
  probe: { timeoutSeconds: 600, intervalMs: 50 },
});
const passed = {
  key: 'ami-0123456789abcdef0/c6g.large/0',
  status: 'passed',
  seriesKey: 's',
  instanceType: 'c6g.large',
};

describe('the synthesized boot test state machine on the emulator’s engine', () => {
  test('runs a round: launch, poll and probe side by side, inspect, clean up, record, clean up again', async () => {
    const run = await execute('plain', [
      plan(0),
      launched(0),
      watched,
      watched,
      passed,
      { terminated: 1, volumesDeleted: 1 },
      { rows: [], regressions: [] },
      { terminated: 0, volumesDeleted: 0 },
    ]);

    expect(run.status).toBe('SUCCEEDED');
    expect(invoked(run.events, workflow.apiFunctions.plan)).toEqual([
      { runId: 'weekly-20261128', request: { imageIds: ['ami-0123456789abcdef0'] } },
    ]);
    expect(invoked(run.events, workflow.apiFunctions.waitRunning)).toEqual([{ instanceIds: ['i-0abc'] }]);
    expect(invoked(run.events, workflow.probeFunction)).toEqual([
      { host: '10.20.1.5', mode: 'watch', timeoutSeconds: 600, intervalMs: 50 },
    ]);
    expect(invoked(run.events, workflow.apiFunctions.inspect)).toEqual([
      expect.objectContaining({
        runId: 'weekly-20261128',
        spec: spec(0),
        probe: expect.anything(),
        running: expect.anything(),
      }),
    ]);
    expect(invoked(run.events, workflow.apiFunctions.record)).toEqual([
      { runId: 'weekly-20261128', rounds: [{ results: [passed], notLaunched: [] }] },
    ]);
    expect(invoked(run.events, workflow.apiFunctions.cleanup)).toEqual([
      { runId: 'weekly-20261128' },
      { runId: 'weekly-20261128' },
    ]);
    expect(entered(run.events)).not.toContain('Hotplug');
  });

  test('runs hot-plug cycles in batches, carrying the kept volume, then re-checks port 22 inside the VPC', async () => {
    const run = await execute('hotplug', [
      plan(100),
      launched(100),
      watched,
      watched,
      { name: 'hotplug', passed: true, finished: false, cycles: 60, volumeId: 'vol-0keep', reason: '60 of 100' },
      { name: 'hotplug', passed: true, finished: true, cycles: 100, volumeId: 'vol-0keep', reason: '100 cycles' },
      { open: true, reason: 'port 22 accepted' },
      passed,
      { terminated: 1, volumesDeleted: 1 },
      { rows: [], regressions: [] },
      { terminated: 0, volumesDeleted: 0 },
    ]);

    expect(run.status).toBe('SUCCEEDED');
    const batches = invoked(run.events, workflow.apiFunctions.hotplug) as { resume: unknown }[];
    expect(batches.map((b) => b.resume)).toEqual([{ completed: 0 }, { volumeId: 'vol-0keep', completed: 60 }]);
    expect(invoked(run.events, workflow.probeFunction)).toContainEqual({
      host: '10.20.1.5',
      mode: 'check',
      timeoutSeconds: 10,
    });
    expect(invoked(run.events, workflow.apiFunctions.inspect)).toEqual([
      expect.objectContaining({
        hotplug: expect.objectContaining({ cycles: 100, finished: true }),
        recheck: { open: true, reason: 'port 22 accepted' },
      }),
    ]);
  });
});
