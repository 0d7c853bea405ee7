import type { HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import { summarizeExecution } from '../../bin/cli/deployed';
import { renderStatus } from '../../bin/commands/status';

const ARN = 'arn:aws:states:us-east-1:123456789012:execution:Publish:weekly';

/** A failed publish whose regions ran side by side: the failed task's events interleave with another region's. */
const history = (
  [
    { id: 1, type: 'ExecutionStarted' },
    { id: 2, previousEventId: 1, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'Prepare', input: '{}' } },
    { id: 3, previousEventId: 2, type: 'TaskScheduled' },
    { id: 4, previousEventId: 1, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'Poll', input: '{}' } },
    { id: 5, previousEventId: 3, type: 'TaskStarted' },
    { id: 6, previousEventId: 5, type: 'TaskFailed', taskFailedEventDetails: { error: 'RegionUnreachable' } },
    {
      id: 7,
      previousEventId: 6,
      type: 'PassStateExited',
      stateExitedEventDetails: {
        name: 'RegionFailed',
        output: JSON.stringify({ region: 'eu-west-1', status: 'failed' }),
      },
    },
    {
      id: 8,
      previousEventId: 4,
      type: 'TaskStateExited',
      stateExitedEventDetails: {
        name: 'Announce',
        output: JSON.stringify({ summary: { failedRegions: ['ap-south-2'] } }),
      },
    },
    { id: 9, previousEventId: 8, type: 'ExecutionFailed', executionFailedEventDetails: { error: 'PublishIncomplete' } },
  ] as Omit<HistoryEvent, 'timestamp'>[]
).map((event) => ({ timestamp: new Date('2026-05-02T06:30:00Z'), ...event }) as HistoryEvent);

const sfn = {
  send: async (command: { constructor: { name: string } }) =>
    command.constructor.name === 'DescribeExecutionCommand'
      ? { status: 'FAILED', error: 'PublishIncomplete', cause: 'Some regions or images were not published' }
      : { events: [...history].reverse() },
} as unknown as SFNClient;

describe('status of a failed execution', () => {
  test('names the step whose task failed and every region reported failed', async () => {
    const summary = await summarizeExecution(
      sfn,
      'publish',
      {
        executionArn: ARN,
        stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:Publish',
        name: 'weekly',
        status: 'FAILED',
        startDate: new Date('2026-05-02T06:00:00Z'),
        stopDate: new Date('2026-05-02T07:02:05Z'),
      },
      new Date('2026-05-02T08:00:00Z'),
    );

    expect(summary).toMatchObject({
      failedStep: 'Prepare',
      failedRegions: ['ap-south-2', 'eu-west-1'],
      error: 'PublishIncomplete',
      durationSeconds: 3725,
    });
    expect(renderStatus([summary]).split('\n')[2]).toMatch(
      /^publish\s+weekly\s+FAILED\s+2026-05-02T06:00:00Z\s+1h02m\s+regions ap-south-2,eu-west-1; step Prepare\s+https:/,
    );
  });
});
