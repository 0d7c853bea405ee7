import type { ExecutionListItem, HistoryEvent } from '@aws-sdk/client-sfn';
import type { ClientPlugin } from '../../lambdas/aws/clients';
import type { LocalEngine, LocalExecution } from './engine';

type Answer = (output: Record<string, unknown>) => never;

/** An error shaped as the Step Functions API returns it. */
function serviceError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

function pageOf<T>(items: readonly T[], maxResults: number | undefined, nextToken: string | undefined) {
  const start = nextToken ? Number(nextToken) : 0;
  const size = maxResults && maxResults > 0 ? maxResults : 1000;
  const page = items.slice(start, start + size);
  const next = start + size < items.length ? String(start + size) : undefined;
  return { page, next };
}

function listItem(execution: LocalExecution): ExecutionListItem {
  return {
    executionArn: execution.executionArn,
    stateMachineArn: execution.stateMachineArn,
    name: execution.name,
    status: execution.status,
    startDate: execution.startDate,
    stopDate: execution.stopDate,
  };
}

/**
 * Answers the Step Functions API for the engine's state machines and executions (start, describe, list, history,
 * stop), so that what reads executions (the digest, the CLI's status) works the same on the local engine as in an
 * account. Calls about other state machines go on to the service.
 */
export function localStepFunctionsPlugin(engineOf: () => LocalEngine): ClientPlugin {
  return (stack, { service }) => {
    if (service !== 'sfn') return;
    stack.add(
      (next, context) => async (args) => {
        const engine = engineOf();
        const input = args.input as Record<string, unknown>;
        const answer: Answer = (output) => ({ output: { $metadata: {}, ...output }, response: {} }) as never;
        const machineArns = new Map([...engine.workflows.values()].map((w) => [engine.stateMachineArn(w), w]));
        const executionOf = (arn: unknown) => engine.allExecutions().find((e) => e.executionArn === arn);
        switch (context.commandName) {
          case 'StartExecutionCommand': {
            if (!machineArns.has(String(input.stateMachineArn))) break;
            const started = engine.start(
              String(input.stateMachineArn),
              JSON.parse(String(input.input ?? '{}')),
              input.name as string | undefined,
            );
            return answer({ executionArn: started.executionArn, startDate: started.startDate });
          }
          case 'ListExecutionsCommand': {
            if (!machineArns.has(String(input.stateMachineArn))) break;
            const executions = engine
              .allExecutions()
              .filter((e) => e.stateMachineArn === input.stateMachineArn)
              .filter((e) => !input.statusFilter || e.status === input.statusFilter)
              .reverse();
            const { page, next: token } = pageOf(
              executions,
              input.maxResults as number | undefined,
              input.nextToken as string | undefined,
            );
            return answer({ executions: page.map(listItem), nextToken: token });
          }
          case 'DescribeExecutionCommand': {
            const execution = executionOf(input.executionArn);
            if (!execution) {
              if (String(input.executionArn).includes(':execution:') && isLocal(machineArns, input.executionArn))
                throw serviceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${input.executionArn}'`);
              break;
            }
            return answer({
              ...listItem(execution),
              input: JSON.stringify(execution.input),
              output: execution.output === undefined ? undefined : JSON.stringify(execution.output),
              error: execution.error,
              cause: execution.cause,
            });
          }
          case 'GetExecutionHistoryCommand': {
            const execution = executionOf(input.executionArn);
            if (!execution) break;
            const events: HistoryEvent[] = input.reverseOrder ? [...execution.history].reverse() : execution.history;
            const { page, next: token } = pageOf(
              events,
              input.maxResults as number | undefined,
              input.nextToken as string | undefined,
            );
            return answer({ events: page, nextToken: token });
          }
          case 'StopExecutionCommand': {
            const execution = executionOf(input.executionArn);
            if (!execution) break;
            execution.abort();
            return answer({ stopDate: new Date(engine.clock.now()) });
          }
          case 'DescribeStateMachineCommand': {
            const workflow = machineArns.get(String(input.stateMachineArn));
            if (!workflow) break;
            return answer({
              stateMachineArn: input.stateMachineArn,
              name: workflow.logicalId,
              status: 'ACTIVE',
              type: 'STANDARD',
            });
          }
          default:
            break;
        }
        return next(args);
      },
      { step: 'initialize', name: 'localStepFunctions' },
    );
  };
}

function isLocal(machineArns: ReadonlyMap<string, unknown>, executionArn: unknown): boolean {
  const [, , , region, account, , machine] = String(executionArn).split(':');
  return [...machineArns.keys()].some((arn) => arn.endsWith(`:${region}:${account}:stateMachine:${machine}`));
}
