import type { HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import { consoleUrl, followExecution } from '../../bin/cli/deployed';
import type { StateEvent } from '../../bin/cli/progress';
import { startInput } from '../../bin/commands/start';

const ARN = 'arn:aws:states:us-east-1:123456789012:execution:Publish:cli-publish-20260502-060000';

describe('the input a manual start gives', () => {
  test('publish: the schedule’s empty input, or the images and regions named', () => {
    expect(startInput('publish', {}, undefined)).toEqual({});
    expect(startInput('publish', { ami: ['ami-1', 'ami-2'] }, ['eu-west-1'])).toEqual({
      imageIds: ['ami-1', 'ami-2'],
      regions: ['eu-west-1'],
    });
  });

  test('prune plans unless --execute, whatever the deployed configuration says', () => {
    expect(startInput('prune', {}, undefined)).toEqual({ execute: false });
    expect(startInput('prune', { execute: true, overrideBreaker: true }, ['sa-east-1'])).toEqual({
      execute: true,
      overrideBreaker: true,
      regions: ['sa-east-1'],
    });
  });

  test('audit: the deployed audit.repair decides unless --repair; the regions named', () => {
    expect(startInput('audit', {}, undefined)).toEqual({});
    expect(startInput('audit', { repair: true }, ['eu-west-1'])).toEqual({ repair: true, regions: ['eu-west-1'] });
    expect(() => startInput('prune', { repair: true }, undefined)).toThrow('--repair applies to audit only');
    expect(() => startInput('audit', { ami: ['ami-1'] }, undefined)).toThrow('--ami does not apply to audit');
  });

  test('options that do not apply to a workflow are refused, not ignored', () => {
    expect(() => startInput('publish', { execute: true }, undefined)).toThrow('--execute applies to prune only');
    expect(() => startInput('boot-test', {}, undefined)).toThrow('start boot-test needs the images to test');
    expect(() => startInput('boot-test', { ami: ['ami-1'] }, ['eu-west-1'])).toThrow(
      'the boot test runs in the build region; --regions does not apply to it',
    );
    expect(() => startInput('prune', { ami: ['ami-1'] }, undefined)).toThrow('--ami does not apply to prune');
  });
});

describe('the console link of an execution', () => {
  test('opens the execution in its region’s console, in its partition', () => {
    expect(consoleUrl(ARN)).toBe(
      `https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/${ARN}`,
    );
    expect(consoleUrl(ARN.replace(':aws:', ':aws-cn:').replace(/us-east-1/g, 'cn-north-1'))).toMatch(
      /^https:\/\/cn-north-1\.console\.amazonaws\.cn\/states\//,
    );
  });
});

/** A Step Functions stand-in: the execution's history grows by the batches given, one batch per look. */
function stepFunctions(batches: HistoryEvent[][]) {
  const history: HistoryEvent[] = [];
  const historyCalls: { reverseOrder?: boolean; nextToken?: string }[] = [];
  let looks = 0;
  const sfn = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      if (command.constructor.name === 'DescribeExecutionCommand') {
        history.push(...(batches[looks] ?? []));
        looks++;
        return { status: looks >= batches.length ? 'SUCCEEDED' : 'RUNNING', executionArn: ARN };
      }
      historyCalls.push(command.input);
      // Newest first, two events a page, as Step Functions pages with reverseOrder.
      const newestFirst = [...history].reverse();
      const start = command.input.nextToken ? Number(command.input.nextToken) : 0;
      const page = newestFirst.slice(start, start + 2);
      return { events: page, nextToken: start + 2 < newestFirst.length ? String(start + 2) : undefined };
    },
  };
  return { sfn: sfn as unknown as SFNClient, historyCalls };
}

let nextId = 0;
const event = (name: string): HistoryEvent => ({
  id: ++nextId,
  timestamp: new Date(),
  type: 'TaskStateEntered',
  stateEnteredEventDetails: { name, input: '{}' },
});

describe('following an execution', () => {
  test('passes each event once, in order, and backs off while nothing happens', async () => {
    const batches = [[event('Regions'), event('Discover'), event('Prepare')], [], [], [event('Finalize')], []];
    const { sfn, historyCalls } = stepFunctions(batches);
    const seen: StateEvent[] = [];
    const waits: number[] = [];

    const ended = await followExecution(
      sfn,
      ARN,
      (e) => seen.push(e),
      { initialMs: 100, maxMs: 300 },
      async (ms) => {
        waits.push(ms);
      },
    );

    expect(ended.status).toBe('SUCCEEDED');
    expect(seen.map((e) => (e.kind === 'ended' ? e.status : e.name))).toEqual([
      'Regions',
      'Discover',
      'Prepare',
      'Finalize',
    ]);
    expect(waits).toEqual([100, 200, 300, 100]);
    expect(historyCalls.every((c) => c.reverseOrder === true)).toBe(true);
  });

  test('reads only the pages that hold new events, however long the history', async () => {
    const long = Array.from({ length: 40 }, (_, i) => event(`Step${i}`));
    const { sfn, historyCalls } = stepFunctions([long, [event('Last')]]);

    await followExecution(
      sfn,
      ARN,
      () => undefined,
      { initialMs: 1, maxMs: 1 },
      async () => undefined,
    );

    // 20 pages for the first 40 events, then one page holding the new event and the last one seen.
    expect(historyCalls).toHaveLength(21);
  });
});
