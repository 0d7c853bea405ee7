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
  executionName?: string,
): Promise<ExecutionRun> {
  return runExecution(emulator, { name, definition, roleName: 'publish-states', input, results, executionName });
}

const progress = (pending: boolean, waitSeconds: number, state: string, error?: string) => ({
  region: 'eu-west-1',
  runId: 'poll-loop',
  images: [SOURCE],
  pollSeconds: 0,
  waitSeconds,
  polls: 1,
  endsAt: '2026-11-27T16:00:00.000Z',
  pending,
  copies: [
    { source: SOURCE, name: 'FreeBSD 15.0-CURRENT-amd64-20261120 base UFS', imageId: COPY, attempt: 1, state, error },
  ],
});
const summary = (status: string, published: number, failed: number) => ({
  region: 'eu-west-1',
  status,
  pairs: 1,
  published,
  failed,
  changes: 5,
});
const regions = { buildRegion: REGION, regions: ['eu-west-1'], decisions: [] };
const discovered = {
  buildRegion: REGION,
  regions: ['eu-west-1'],
  images: [SOURCE],
  fresh: [SOURCE],
  count: 1,
  pollSeconds: 0,
  recheck: false,
  complete: 0,
  deferred: 0,
  untracked: 0,
  skipped: [],
  gaveUp: [],
  gaveUpCount: 0,
};
const announced = (failedCount: number) => ({
  messages: failedCount ? 0 : 1,
  published: failedCount ? [] : [{ name: 'FreeBSD 15.0-CURRENT-amd64-20261120 base UFS', regions: 1, of: 1 }],
  pairsPublished: failedCount ? 0 : 1,
  failedPairs: failedCount,
  failedRegions: failedCount ? ['eu-west-1'] : [],
  failures: [],
  failedCount,
});
const logicalId = (fn: IConstruct) => logicalIdOf(synth.stack, fn);

describe('the synthesized publish state machine on the emulator’s engine', () => {
  test('loops Wait and Poll per region, reads SSM back, and passes only summaries to the announcement', async () => {
    const run = await execute(
      'poll-loop',
      [
        regions,
        discovered,
        progress(true, 0, 'copying'),
        progress(true, 1, 'copying'),
        progress(false, 1, 'available'),
        {
          region: 'eu-west-1',
          summary: summary('published', 1, 0),
          verify: {
            runId: 'poll-loop',
            waitSeconds: 0,
            parameters: [{ parameter: '/p', imageId: COPY, source: SOURCE, name: 'n' }],
          },
        },
        summary('published', 1, 0),
        announced(0),
      ],
      {},
      undefined,
      { pollSeconds: 0 },
      'poll-loop',
    );

    expect(run.status).toBe('SUCCEEDED');
    const waits = run.events.filter((e) => e.type === 'WaitStateEntered');
    expect(waits).toHaveLength(3);
    expect(scheduledInput(run.events, logicalId(synth.workflow.discoverFunction))).toEqual([
      { start: { pollSeconds: 0, selection: { regions: ['eu-west-1'] } }, runId: 'poll-loop' },
    ]);
    expect(scheduledInput(run.events, logicalId(synth.workflow.prepareFunction))).toEqual([
      { region: 'eu-west-1', images: [SOURCE], pollSeconds: 0, recheck: false, runId: 'poll-loop' },
    ]);
    expect(scheduledInput(run.events, logicalId(synth.workflow.pollFunction))).toHaveLength(2);
    expect(scheduledInput(run.events, logicalId(synth.workflow.verifyFunction))).toHaveLength(1);
    expect(scheduledInput(run.events, logicalId(synth.workflow.announceFunction))).toEqual([
      {
        runId: 'poll-loop',
        regions: ['eu-west-1'],
        images: [SOURCE],
        outcomes: [summary('published', 1, 0)],
        gaveUpCount: 0,
      },
    ]);
    // The history-size model of the unit tests, measured: one region, two polls; this workflow alone has no boot
    // test to start, so no NewBuilds choice (2 events) and no StartBootTest task (5).
    expect(run.events.length).toBe(publishHistoryEvents(1, 2) - 2 - 5);
  });

  test('reports copies that time out, announces, and fails the execution at the end', async () => {
    const run = await execute('copy-deadline', [
      regions,
      discovered,
      progress(true, 0, 'copying'),
      progress(false, 0, 'failed', `copy ${COPY} not available 180 min after it started`),
      { region: 'eu-west-1', summary: summary('failed', 0, 1) },
      announced(1),
    ]);

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('PublishIncomplete');
  });

  test('a run with nothing new that gave pairs up fails, so the give-up is alarmed once', async () => {
    const run = await execute('given-up', [
      regions,
      {
        ...discovered,
        images: [],
        fresh: [],
        count: 0,
        gaveUp: [{ id: 'n', region: 'eu-west-1', error: 'not published within 28 days', code: 'GaveUp' }],
        gaveUpCount: 1,
      },
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
      runId: 'region-failed',
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
