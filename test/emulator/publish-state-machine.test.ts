import type { IConstruct } from 'constructs';
import { publishHistoryEvents } from '../../lambdas/core/publish';
import { regionOutcomeSchema } from '../../lambdas/publish/shared';
import { synthesizePublishWorkflow } from '../cdk/publish-synth';
import {
  type ExecutionRun,
  logicalIdOf,
  payloadsTo as scheduledInput,
  REGION,
  templateDefinition,
  runExecution,
  useWorkflowEmulator,
} from '../support/state-machine';

// The synthesized definition runs on the emulator's Step Functions engine. Its Lambda tasks return results queued
// in advance (not the handlers, which have tests of their own), so this checks the definition: paths, the poll loop
// with waits read from the input, the failure branch and the end-of-run failure.
const SOURCE = 'ami-0123456789abcdef0';
const COPY = 'ami-0fedcba9876543210';
const synth = synthesizePublishWorkflow({ publish: { regionConcurrency: 1 } });

const emulator = useWorkflowEmulator(synth.templateJson, 'publish');

/** The definition with CloudFormation references resolved and top-level fields replaced by `overrides`. */
function resolvedDefinition(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...JSON.parse(templateDefinition(synth.templateJson)), ...overrides });
}

async function execute(
  name: string,
  results: readonly unknown[],
  overrides: Record<string, unknown> = {},
  definition = resolvedDefinition(overrides),
  input: unknown = { pollSeconds: 0 },
): Promise<ExecutionRun> {
  return runExecution(emulator, { name, definition, roleName: 'publish-states', input, results });
}

const progress = (pending: boolean, waitSeconds: number, state: string, error?: string) => ({
  region: 'eu-west-1',
  images: [SOURCE],
  pollSeconds: 0,
  waitSeconds,
  deadline: '2026-11-27T09:00:00.000Z',
  pending,
  copies: [
    { source: SOURCE, name: 'FreeBSD 15.0-CURRENT-amd64-20261120 base UFS', imageId: COPY, attempt: 1, state, error },
  ],
});
const regions = { buildRegion: REGION, regions: ['eu-west-1'], decisions: [] };
const discovered = {
  buildRegion: REGION,
  regions: ['eu-west-1'],
  images: [SOURCE],
  count: 1,
  pollSeconds: 0,
  skipped: [],
};
const logicalId = (fn: IConstruct) => logicalIdOf(synth.stack, fn);

describe('the synthesized publish state machine on the emulator’s engine', () => {
  test('loops Wait and Poll per region with waits from the input until the copies are done, then succeeds', async () => {
    const run = await execute('poll-loop', [
      regions,
      discovered,
      progress(true, 0, 'copying'),
      progress(true, 1, 'copying'),
      progress(false, 1, 'available'),
      { region: 'eu-west-1', status: 'published', published: { [SOURCE]: COPY }, failed: [], changes: 5 },
      { messages: 1, markedPublished: 1, failedRegions: [], failedCount: 0, failures: [] },
    ]);

    expect(run.status).toBe('SUCCEEDED');
    const waits = run.events.filter((e) => e.type === 'WaitStateEntered');
    expect(waits).toHaveLength(2);
    expect(scheduledInput(run.events, logicalId(synth.workflow.prepareFunction))).toEqual([
      { region: 'eu-west-1', images: [SOURCE], pollSeconds: 0, startedAt: expect.any(String) },
    ]);
    expect(scheduledInput(run.events, logicalId(synth.workflow.pollFunction))).toHaveLength(2);
    expect(scheduledInput(run.events, logicalId(synth.workflow.announceFunction))).toEqual([
      {
        images: [SOURCE],
        outcomes: [{ region: 'eu-west-1', status: 'published', published: { [SOURCE]: COPY }, failed: [], changes: 5 }],
      },
    ]);
    // The history-size model of the unit tests, measured: one region, two polls.
    expect(run.events.length).toBe(publishHistoryEvents(1, 2));
  });

  test('reports copies that time out, announces, and fails the execution at the end', async () => {
    const run = await execute('copy-deadline', [
      regions,
      discovered,
      progress(true, 0, 'copying'),
      progress(false, 0, 'failed', `copy ${COPY} timed out`),
      {
        region: 'eu-west-1',
        status: 'failed',
        published: {},
        failed: [{ id: SOURCE, region: 'eu-west-1', error: `copy ${COPY} timed out` }],
        changes: 0,
      },
      { messages: 0, markedPublished: 0, failedRegions: ['eu-west-1'], failedCount: 1, failures: [] },
    ]);

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('PublishIncomplete');
  });

  // The engine cannot fail a Lambda task: moto's Lambda without Docker returns queued results and never sets
  // FunctionError, and its port of the engine's mock configuration is stubbed out. So the Catch wiring is asserted on
  // the template (test/cdk) and the failure branch's own state runs here on the error shape a Catch produces.
  test('the failure branch turns a caught error into an outcome the announcement accepts', async () => {
    const inner = JSON.parse(resolvedDefinition()).States.PublishRegions.ItemProcessor.States;
    const definition = JSON.stringify({ StartAt: 'RegionFailed', States: { RegionFailed: inner.RegionFailed } });
    const caught = {
      region: 'eu-west-1',
      images: [SOURCE],
      pollSeconds: 0,
      error: { Error: 'Lambda.Unknown', Cause: '{"errorMessage":"Task timed out after 300.00 seconds"}' },
    };

    const run = await execute('region-failed', [], {}, definition, caught);

    expect(run.status).toBe('SUCCEEDED');
    const outcome = JSON.parse(run.output!);
    expect(outcome).toEqual({ region: 'eu-west-1', status: 'failed', error: caught.error.Cause });
    expect(regionOutcomeSchema.safeParse(outcome).success).toBe(true);
  });

  test('an execution that outlives its timeout ends as TIMED_OUT (timeout shortened to 1 s)', async () => {
    const run = await execute('times-out', [regions, discovered, progress(true, 3, 'copying')], { TimeoutSeconds: 1 });

    expect(run.status).toBe('TIMED_OUT');
  });
});
