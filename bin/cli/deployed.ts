import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionListItem,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { ClientFactory } from '../../lambdas/aws/clients';
import { errorCode, PipelineError } from '../../lambdas/core/errors';
import { STACK_OUTPUTS } from '../../lib/pipeline-stack';
import type { FollowPolling } from './context';
import type { ExecutionEnd, StateEvent } from './progress';

/** The deployed workflows, by the name the CLI gives them, with the stack output naming each state machine. */
export const WORKFLOW_OUTPUTS = {
  publish: STACK_OUTPUTS.publishStateMachine,
  'boot-test': STACK_OUTPUTS.bootTestStateMachine,
  prune: STACK_OUTPUTS.pruneStateMachine,
  audit: STACK_OUTPUTS.auditStateMachine,
} as const;

export type WorkflowName = keyof typeof WORKFLOW_OUTPUTS;

/** The stack is not deployed in the region asked, or lacks outputs this CLI reads. */
export class DeployedStackError extends PipelineError {
  override readonly name: string = 'DeployedStackError';
}

/** An execution ended other than SUCCEEDED. */
export class ExecutionFailedError extends PipelineError {
  override readonly name: string = 'ExecutionFailedError';
}

/** The state machine ARN of each workflow, read from the outputs of the deployed stack called `stackName`. */
export async function deployedStateMachines(
  clients: ClientFactory,
  stackName: string,
  region: string,
): Promise<Record<WorkflowName, string>> {
  const outputs = await deployedOutputs(clients, stackName, region);
  const missing = Object.values(WORKFLOW_OUTPUTS).filter((key) => !outputs.get(key));
  if (missing.length > 0)
    throw new DeployedStackError(
      `stack ${stackName} in ${region} has no output ${missing.join(', ')}: deploy this version of the stack (npx cdk deploy)`,
    );
  return Object.fromEntries(
    Object.entries(WORKFLOW_OUTPUTS).map(([workflow, key]) => [workflow, outputs.get(key)!]),
  ) as Record<WorkflowName, string>;
}

/** One output of the deployed stack, or an error saying the stack (or this version of it) is not deployed. */
export async function deployedOutput(
  clients: ClientFactory,
  stackName: string,
  region: string,
  key: string,
): Promise<string> {
  const value = (await deployedOutputs(clients, stackName, region)).get(key);
  if (!value)
    throw new DeployedStackError(
      `stack ${stackName} in ${region} has no output ${key}: deploy this version of the stack (npx cdk deploy)`,
    );
  return value;
}

async function deployedOutputs(
  clients: ClientFactory,
  stackName: string,
  region: string,
): Promise<Map<string, string>> {
  let outputs: Map<string, string>;
  try {
    const response = await clients
      .client(CloudFormationClient, region)
      .send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = new Map((response.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } catch (error) {
    if (errorCode(error) === 'ValidationError' && /does not exist/.test((error as Error).message))
      throw new DeployedStackError(
        `no stack ${stackName} in ${region}: deploy it (npx cdk deploy), or name it with --stack-name and the region with --region`,
        { cause: error },
      );
    throw error;
  }
  return outputs;
}

/** The Step Functions console page of an execution. */
export function consoleUrl(executionArn: string): string {
  const [, partition, , region] = executionArn.split(':');
  const host =
    partition === 'aws-cn'
      ? `${region}.console.amazonaws.cn`
      : partition === 'aws-us-gov'
        ? 'console.amazonaws-us-gov.com'
        : `${region}.console.aws.amazon.com`;
  return `https://${host}/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/** One execution as `status` reports it. */
export interface ExecutionSummary {
  readonly workflow: string;
  readonly name: string;
  readonly executionArn: string;
  readonly status: string;
  readonly startDate?: string;
  readonly stopDate?: string;
  /** Seconds from start to stop, or to now while it runs. */
  readonly durationSeconds?: number;
  /** For an execution that did not succeed: the step that failed, and the regions that failed. */
  readonly failedStep?: string;
  readonly failedRegions?: string[];
  readonly error?: string;
  readonly cause?: string;
  readonly consoleUrl: string;
}

/** Events of a history read newest first, stopping at `afterId` (exclusive) or after `maxPages` pages. */
async function historySince(
  sfn: SFNClient,
  executionArn: string,
  afterId: number,
  maxPages = Number.POSITIVE_INFINITY,
): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1000, nextToken }),
    );
    pages++;
    for (const event of page.events ?? []) {
      if ((event.id ?? 0) <= afterId) return events.reverse();
      events.push(event);
    }
    nextToken = page.nextToken;
  } while (nextToken && pages < maxPages);
  return events.reverse();
}

const parse = (text: string | undefined): unknown => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

const HISTORY_ENDS: Readonly<Record<string, ExecutionEnd>> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionAborted: 'ABORTED',
  ExecutionTimedOut: 'TIMED_OUT',
};

/** A history event as the progress display reads it, or undefined for events it does not show. */
export function stateEventOfHistory(event: HistoryEvent): StateEvent | undefined {
  const time = event.timestamp ? new Date(event.timestamp).getTime() : Date.now();
  const type = event.type ?? '';
  if (type.endsWith('StateEntered') && event.stateEnteredEventDetails?.name)
    return {
      kind: 'entered',
      name: event.stateEnteredEventDetails.name,
      type: type.slice(0, -'StateEntered'.length),
      data: parse(event.stateEnteredEventDetails.input),
      time,
    };
  if (type.endsWith('StateExited') && event.stateExitedEventDetails?.name)
    return {
      kind: 'exited',
      name: event.stateExitedEventDetails.name,
      type: type.slice(0, -'StateExited'.length),
      data: parse(event.stateExitedEventDetails.output),
      time,
    };
  const status = HISTORY_ENDS[type];
  return status ? { kind: 'ended', status, time } : undefined;
}

/** Where a failed execution failed: its last failed task's step, and the regions its states reported failed. */
function failureOf(events: readonly HistoryEvent[]): Pick<ExecutionSummary, 'failedStep' | 'failedRegions'> {
  let failedStep: string | undefined;
  let lastEntered: string | undefined;
  const regions = new Set<string>();
  const byId = new Map(events.map((e) => [e.id, e]));
  /** The state a task event belongs to: back along previousEventId (Map iterations interleave their events). */
  const stateOf = (event: HistoryEvent): string | undefined => {
    let current: HistoryEvent | undefined = event;
    for (let step = 0; current && step < 10; step++) {
      if (current.type?.endsWith('StateEntered')) return current.stateEnteredEventDetails?.name;
      current = byId.get(current.previousEventId);
    }
    return lastEntered;
  };
  for (const event of events) {
    const type = event.type ?? '';
    if (type.endsWith('StateEntered')) lastEntered = event.stateEnteredEventDetails?.name;
    if (type === 'TaskFailed' || type === 'LambdaFunctionFailed' || type === 'TaskTimedOut')
      failedStep = stateOf(event);
    if (!type.endsWith('StateExited')) continue;
    const output = parse(event.stateExitedEventDetails?.output) as Record<string, unknown> | undefined;
    if (event.stateExitedEventDetails?.name === 'RegionFailed' && typeof output?.region === 'string')
      regions.add(output.region);
    const summary = (output?.summary ?? output) as { failedRegions?: unknown } | undefined;
    if (Array.isArray(summary?.failedRegions))
      for (const region of summary.failedRegions) if (typeof region === 'string') regions.add(region);
  }
  return { failedStep, failedRegions: regions.size ? [...regions].sort() : undefined };
}

/** Pages of history `status` reads at most to find where a failed execution failed (the newest events first). */
const FAILURE_HISTORY_PAGES = 3;

/** Summarizes one listed execution; for one that did not succeed, reads its newest history for where it failed. */
export async function summarizeExecution(
  sfn: SFNClient,
  workflow: string,
  item: ExecutionListItem,
  now: Date,
): Promise<ExecutionSummary> {
  const start = item.startDate ? new Date(item.startDate) : undefined;
  const stop = item.stopDate ? new Date(item.stopDate) : undefined;
  const base: ExecutionSummary = {
    workflow,
    name: item.name ?? '',
    executionArn: item.executionArn ?? '',
    status: item.status ?? 'UNKNOWN',
    startDate: start?.toISOString(),
    stopDate: stop?.toISOString(),
    durationSeconds: start ? Math.round(((stop ?? now).getTime() - start.getTime()) / 1000) : undefined,
    consoleUrl: consoleUrl(item.executionArn ?? ''),
  };
  if (base.status === 'SUCCEEDED' || base.status === 'RUNNING') return base;
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn: base.executionArn }));
  const events = await historySince(sfn, base.executionArn, 0, FAILURE_HISTORY_PAGES);
  return { ...base, ...failureOf(events), error: described.error, cause: described.cause };
}

/** The latest `limit` executions of a state machine, newest first, each summarized. */
export async function latestExecutions(
  sfn: SFNClient,
  workflow: string,
  stateMachineArn: string,
  limit: number,
  now: Date,
): Promise<ExecutionSummary[]> {
  const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: limit }));
  return Promise.all((listed.executions ?? []).map((item) => summarizeExecution(sfn, workflow, item, now)));
}

/**
 * Follows an execution until it ends: asks DescribeExecution and reads only the history events that are new since
 * the last look (newest first, down to the last event seen), passing each to `onEvent`. The wait between looks
 * starts short and doubles while nothing happens, up to `polling.maxMs`, so a long copy costs few requests.
 */
export async function followExecution(
  sfn: SFNClient,
  executionArn: string,
  onEvent: (event: StateEvent) => void,
  polling: FollowPolling,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<DescribeExecutionCommandOutput> {
  let lastId = 0;
  let waitMs = polling.initialMs;
  for (;;) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const events = await historySince(sfn, executionArn, lastId);
    for (const event of events) {
      lastId = Math.max(lastId, event.id ?? 0);
      const state = stateEventOfHistory(event);
      if (state) onEvent(state);
    }
    if (described.status !== 'RUNNING') return described;
    waitMs = events.length > 0 ? polling.initialMs : Math.min(waitMs * 2, polling.maxMs);
    await sleep(waitMs);
  }
}
