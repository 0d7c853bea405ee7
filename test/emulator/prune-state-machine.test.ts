import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { App, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { parseConfig } from '../../lambdas/core/config';
import { EMPTY_TOTALS } from '../../lambdas/prune/schemas';
import { Notifications } from '../../lib/notifications';
import { PipelineFunction } from '../../lib/pipeline-function';
import { PruneWorkflow } from '../../lib/prune-workflow';
import {
  ACCOUNT,
  logicalIdOf,
  payloadsTo as scheduledPayloads,
  REGION,
  runExecution,
  type TemplateJson,
  templateDefinition,
  useWorkflowEmulator,
} from '../support/state-machine';

// The synthesized definition runs on the emulator's Step Functions engine. Its Lambda tasks return results queued in
// advance (the handlers have tests of their own), so this checks the definition: paths, the batch loop, the dry-run
// branch and the end-of-run failure.

function synthesize() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'PruneOnly', { env: { account: ACCOUNT, region: REGION } });
  const config = parseConfig({ safety: { regionConcurrency: 1 } });
  const notifications = new Notifications(stack, 'Notifications', { emails: [], alarmEmails: [] });
  const regionsFunction = new PipelineFunction(stack, 'RegionsFunction', {
    entry: 'regions/handler.ts',
    description: 'lists regions',
    config,
  });
  const workflow = new PruneWorkflow(stack, 'Prune', { config, notifications, regionsFunction });
  const templateJson = app.synth().getStackByName('PruneOnly').template as TemplateJson;
  const logicalId = (fn: IConstruct) => logicalIdOf(stack, fn);
  return { templateJson, workflow, regionsFunction, logicalId };
}

const synth = synthesize();
const emulator = useWorkflowEmulator(synth.templateJson, 'prune');

async function execute(name: string, results: readonly unknown[], input: unknown = {}) {
  return runExecution(emulator, {
    name,
    definition: templateDefinition(synth.templateJson, 'Prune'),
    roleName: 'prune-states',
    input,
    results,
  });
}

function payloadsTo(events: readonly HistoryEvent[], fn: IConstruct): unknown[] {
  return scheduledPayloads(events, synth.logicalId(fn));
}

const item = (batch: number, complete: boolean) => ({
  region: 'eu-west-1',
  capBoundary: '2026-01-01|eu-west-1|ami-1',
  overrideBreaker: true,
  batch,
  complete,
  totals: { ...EMPTY_TOTALS, imagesDeregistered: batch * 10 },
});
const retiredLines = [
  { line: '12-STABLE', endOfLife: '2024-12-31', images: 2, snapshots: 2, gib: 10, imagesDeleted: 2, keptByReason: {} },
];
const planned = (execute: boolean) => ({
  execute,
  items: [item(0, false)],
  failedRegions: [],
  report: { totals: {}, retiredLines },
});
const summed = (failedCount: number) => ({ execute: true, imagesDeregistered: 20, failedRegions: [], failedCount });

describe('the synthesized prune state machine on the emulator’s engine', () => {
  test('passes the start input to Plan and loops a region’s batches on their own cursor until it is complete', async () => {
    const run = await execute(
      'batches',
      [{ regions: ['eu-west-1'] }, planned(true), item(1, false), item(2, true), summed(0)],
      { execute: true, overrideBreaker: true },
    );

    expect(run.status).toBe('SUCCEEDED');
    expect(payloadsTo(run.events, synth.regionsFunction)).toEqual([{ regions: [] }]);
    expect(payloadsTo(run.events, synth.workflow.planFunction)).toEqual([
      { regions: ['eu-west-1'], options: { regions: [], execute: true, overrideBreaker: true } },
    ]);
    expect(payloadsTo(run.events, synth.workflow.executeFunction)).toEqual([item(0, false), item(1, false)]);
    expect(payloadsTo(run.events, synth.workflow.summaryFunction)).toEqual([
      { execute: true, results: [item(2, true)], failedRegions: [], retiredLines },
    ]);
  });

  test('a scheduled start ({}) that plans a dry run deletes nothing and only sums up', async () => {
    const run = await execute('dry-run', [{ regions: ['eu-west-1'] }, planned(false), summed(0)]);

    expect(run.status).toBe('SUCCEEDED');
    expect(payloadsTo(run.events, synth.workflow.planFunction)).toEqual([
      { regions: ['eu-west-1'], options: { regions: [] } },
    ]);
    expect(payloadsTo(run.events, synth.workflow.executeFunction)).toEqual([]);
    expect(payloadsTo(run.events, synth.workflow.summaryFunction)).toHaveLength(1);
  });

  test('fails the execution at the end when the summary counts failures, so the alarm fires', async () => {
    const run = await execute('failures', [{ regions: ['eu-west-1'] }, planned(true), item(1, true), summed(2)]);

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('PruneIncomplete');
  });
});
