import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { MappedDeployment } from '../../bin/local/deployment';
import { AWS_LIMITS, LocalEngine, type LocalEngineOptions } from '../../bin/local/engine';
import { localStepFunctionsPlugin } from '../../bin/local/sfn-api';
import type { StackTemplate } from '../../bin/local/template';
import { ClientFactory } from '../../lambdas/aws/clients';
import { currentInvocation } from '../../lambdas/shared/invocation';
import { FUNCTION_ENTRY_METADATA } from '../../lib/pipeline-function';
import { WORKFLOW_METADATA } from '../../lib/workflow-metadata';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
type Handler = (event: unknown, context: unknown) => Promise<unknown>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A one-workflow template whose functions are named after their entries. */
function templateOf(
  definition: Record<string, unknown>,
  functions: Record<string, { timeout?: number; env?: Record<string, unknown> }>,
): StackTemplate {
  const resources: Record<string, StackTemplate['Resources'][string]> = {
    Topic: { Type: 'AWS::SNS::Topic' },
    Machine: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: { DefinitionString: JSON.stringify(definition) },
      Metadata: { [WORKFLOW_METADATA]: 'work' },
    },
  };
  for (const [name, fn] of Object.entries(functions)) {
    resources[name] = {
      Type: 'AWS::Lambda::Function',
      Properties: { Timeout: fn.timeout ?? 30, MemorySize: 512, Environment: { Variables: fn.env ?? {} } },
      Metadata: { [FUNCTION_ENTRY_METADATA]: name },
    };
  }
  return { Resources: resources };
}

function invoke(fn: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke',
    Parameters: { FunctionName: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${fn}`, 'Payload.$': '$' },
    ...extra,
  };
}

function engineFor(
  template: StackTemplate,
  handlers: Record<string, Handler>,
  extra: Partial<LocalEngineOptions> = {},
): LocalEngine {
  const deployment = new MappedDeployment(REGION, ACCOUNT).setRef(
    'Topic',
    `arn:aws:sns:${REGION}:${ACCOUNT}:topic-made-locally`,
  );
  for (const id of Object.keys(template.Resources)) {
    deployment.setAttribute(id, 'Arn', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`);
  }
  deployment.setRef('Machine', `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:Machine`);
  return new LocalEngine({ template, deployment, clients: new ClientFactory(), handlers, ...extra });
}

describe('the local engine runs a synthesized definition with the functions in-process', () => {
  test('each task calls its function with that function’s environment, references resolved', async () => {
    const template = templateOf(
      { StartAt: 'Read', States: { Read: invoke('read', { OutputPath: '$.Payload', End: true }) } },
      { read: { env: { TOPIC: { Ref: 'Topic' }, PLAIN: 'value' } } },
    );
    const engine = engineFor(template, {
      read: async () => ({
        topic: currentInvocation().env.TOPIC,
        plain: currentInvocation().env.PLAIN,
        fn: currentInvocation().functionName,
      }),
    });

    const report = await engine.start('work', { any: 1 }).done;

    expect(report.status).toBe('SUCCEEDED');
    expect(report.output).toEqual({
      topic: `arn:aws:sns:${REGION}:${ACCOUNT}:topic-made-locally`,
      plain: 'value',
      fn: 'read',
    });
  });

  test('a state over 256 KiB fails the execution, and its Catch path never runs', async () => {
    let cleanups = 0;
    const template = templateOf(
      {
        StartAt: 'Big',
        States: {
          Big: invoke('big', {
            ResultPath: '$.big',
            Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Cleanup' }],
            Next: 'Done',
          }),
          Cleanup: invoke('cleanup', { End: true }),
          Done: invoke('cleanup', { End: true }),
        },
      },
      { big: {}, cleanup: {} },
    );
    const engine = engineFor(template, {
      big: async () => ({ blob: 'x'.repeat(AWS_LIMITS.payloadBytes) }),
      cleanup: async () => {
        cleanups++;
        return {};
      },
    });

    const report = await engine.start('work', {}).done;

    expect(report.status).toBe('FAILED');
    expect(report.error).toBe('States.DataLimitExceeded');
    expect(report.cause).toMatch(/output of state Big is \d+ bytes/);
    expect(cleanups).toBe(0);
  });

  test('a Map whose collected results pass 256 KiB fails the execution uncaught', async () => {
    let after = 0;
    const template = templateOf(
      {
        StartAt: 'Each',
        States: {
          Each: {
            Type: 'Map',
            ItemsPath: '$.items',
            ItemProcessor: { StartAt: 'Item', States: { Item: invoke('item', { End: true }) } },
            Catch: [{ ErrorEquals: ['States.ALL'], Next: 'After' }],
            Next: 'After',
          },
          After: invoke('after', { End: true }),
        },
      },
      { item: {}, after: {} },
    );
    const engine = engineFor(template, {
      item: async () => ({ part: 'y'.repeat(10_000) }),
      after: async () => {
        after++;
        return {};
      },
    });

    const report = await engine.start('work', { items: Array.from({ length: 30 }, (_, i) => ({ i })) }).done;

    expect(report.error).toBe('States.DataLimitExceeded');
    expect(report.cause).toMatch(/state Each/);
    expect(after).toBe(0);
  });

  test('an inline Map runs at most 40 iterations at once, whatever MaxConcurrency says', async () => {
    let running = 0;
    let highest = 0;
    const template = templateOf(
      {
        StartAt: 'Each',
        States: {
          Each: {
            Type: 'Map',
            MaxConcurrency: 100,
            ItemsPath: '$.items',
            ItemProcessor: {
              StartAt: 'Item',
              States: { Item: invoke('item', { OutputPath: '$.Payload', End: true }) },
            },
            End: true,
          },
        },
      },
      { item: {} },
    );
    const engine = engineFor(template, {
      item: async () => {
        running++;
        highest = Math.max(highest, running);
        await sleep(20);
        running--;
        return 1;
      },
    });

    const report = await engine.start('work', { items: Array.from({ length: 100 }, (_, i) => ({ i })) }).done;

    expect(report.status).toBe('SUCCEEDED');
    expect(highest).toBe(40);
  });

  test('a function past its timeout fails with Sandbox.Timedout, which the definition can retry', async () => {
    let calls = 0;
    const template = templateOf(
      {
        StartAt: 'Slow',
        States: {
          Slow: invoke('slow', {
            OutputPath: '$.Payload',
            Retry: [{ ErrorEquals: ['Sandbox.Timedout'], IntervalSeconds: 0, MaxAttempts: 1 }],
            End: true,
          }),
        },
      },
      { slow: { timeout: 1 } },
    );
    const engine = engineFor(template, {
      slow: async () => {
        calls++;
        if (calls === 1) await sleep(1500);
        return { remaining: currentInvocation().remainingMs() };
      },
    });

    const report = await engine.start('work', {}).done;

    expect(report.status).toBe('SUCCEEDED');
    expect(calls).toBe(2);
    expect(engine.stats.get('slow')).toMatchObject({ invocations: 2, timeouts: 1, errors: 1 });
    expect((report.output as { remaining: number }).remaining).toBeLessThanOrEqual(1000);
  });

  test('an injected Lambda error reaches the Catch path with its name', async () => {
    const template = templateOf(
      {
        StartAt: 'Work',
        States: {
          Work: invoke('work', {
            Catch: [{ ErrorEquals: ['Lambda.TooManyRequestsException'], ResultPath: '$.error', Next: 'Caught' }],
            End: true,
          }),
          Caught: { Type: 'Pass', End: true },
        },
      },
      { work: {} },
    );
    const engine = engineFor(template, { work: async () => ({}) });
    engine.injectFault({ functionId: 'work', error: 'Lambda.TooManyRequestsException' });

    const report = await engine.start('work', {}).done;

    expect(report.status).toBe('SUCCEEDED');
    expect(report.output).toMatchObject({ error: { Error: 'Lambda.TooManyRequestsException' } });
  });

  test('a handler’s error reaches the definition under its own name', async () => {
    class RegionRefused extends Error {
      override name = 'RegionRefused';
    }
    const template = templateOf(
      {
        StartAt: 'Work',
        States: {
          Work: invoke('work', {
            Catch: [{ ErrorEquals: ['RegionRefused'], ResultPath: '$.error', Next: 'Caught' }],
            End: true,
          }),
          Caught: { Type: 'Pass', End: true },
        },
      },
      { work: {} },
    );
    const engine = engineFor(template, {
      work: async () => {
        throw new RegionRefused('no');
      },
    });

    const report = await engine.start('work', {}).done;

    expect((report.output as { error: { Error: string; Cause: string } }).error).toEqual({
      Error: 'RegionRefused',
      Cause: JSON.stringify({ errorType: 'RegionRefused', errorMessage: 'no' }),
    });
  });

  test('the execution timeout ends an execution without running any Catch', async () => {
    let caught = 0;
    const template = templateOf(
      {
        TimeoutSeconds: 1,
        StartAt: 'Wait',
        States: {
          Wait: { Type: 'Wait', Seconds: 30, Next: 'Work' },
          Work: invoke('work', { Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }], End: true }),
          Caught: invoke('caught', { End: true }),
        },
      },
      { work: {}, caught: {} },
    );
    const engine = engineFor(template, {
      work: async () => ({}),
      caught: async () => {
        caught++;
        return {};
      },
    });

    const report = await engine.start('work', {}).done;

    expect(report.status).toBe('TIMED_OUT');
    expect(caught).toBe(0);
  });

  test('history events are counted as Step Functions counts those of a Standard execution', async () => {
    const template = templateOf(
      {
        StartAt: 'First',
        States: {
          First: invoke('work', { ResultPath: null, Next: 'Each' }),
          Each: {
            Type: 'Map',
            ItemsPath: '$.items',
            ItemProcessor: { StartAt: 'Item', States: { Item: { Type: 'Pass', End: true } } },
            Next: 'Done',
          },
          Done: { Type: 'Succeed' },
        },
      },
      { work: {} },
    );
    const engine = engineFor(template, { work: async () => ({}) });

    const report = await engine.start('work', { items: [1, 2, 3] }).done;

    // Execution started and succeeded (2); the task: entered, scheduled, started, succeeded, exited (5); the Map:
    // entered, started, succeeded, exited (4) and per item iteration started and succeeded (2) plus the Pass
    // state's entered and exited (2); the Succeed state: entered and exited (2).
    expect(report.historyEventCount).toBe(2 + 5 + 4 + 3 * 4 + 2);
    expect(report.transitions).toBe(1 + 1 + 3 + 1);
  });

  test('a started child execution runs, and the Step Functions API lists and describes both', async () => {
    const template = templateOf(
      {
        StartAt: 'Choose',
        States: {
          Choose: {
            Type: 'Choice',
            Choices: [{ Variable: '$.child', IsPresent: true, Next: 'Child' }],
            Default: 'Start',
          },
          Start: {
            Type: 'Task',
            Resource: 'arn:aws:states:::states:startExecution',
            Parameters: {
              StateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:Machine`,
              Input: { child: true },
            },
            End: true,
          },
          Child: { Type: 'Fail', Error: 'ChildFailed', Cause: 'as planned' },
        },
      },
      {},
    );
    const engine = engineFor(template, {});
    const clients = new ClientFactory({ plugins: [localStepFunctionsPlugin(() => engine)] });
    const machineArn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:Machine`;

    await engine.start('work', {}, 'parent').done;
    const reports = await engine.settled();
    const listed = await clients
      .client(SFNClient, REGION)
      .send(new ListExecutionsCommand({ stateMachineArn: machineArn }));
    const child = listed.executions!.find((e) => e.name !== 'parent')!;
    const described = await clients
      .client(SFNClient, REGION)
      .send(new DescribeExecutionCommand({ executionArn: child.executionArn }));
    const history = await clients
      .client(SFNClient, REGION)
      .send(new GetExecutionHistoryCommand({ executionArn: child.executionArn, reverseOrder: true, maxResults: 5 }));

    expect(reports.map((r) => r.status)).toEqual(['SUCCEEDED', 'FAILED']);
    expect(listed.executions).toHaveLength(2);
    expect(described).toMatchObject({ status: 'FAILED', error: 'ChildFailed', cause: 'as planned' });
    expect(history.events![0]!.type).toBe('ExecutionFailed');
    expect(history.events!.some((e) => e.type === 'FailStateEntered')).toBe(true);
  });
});
