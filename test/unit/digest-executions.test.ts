import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { ClientFactory } from '../../lambdas/aws/clients';
import { executionsInWindow } from '../../lambdas/aws/digest/service';
import { digestWindow } from '../../lambdas/core/digest-week';
import { ACCOUNT } from './digest-outputs';

// moto 5.2.1 runs one execution per reset, so listing across pages and the cut at the window's start are shown
// here with a mocked client; test/emulator/digest.test.ts runs the same code against moto's Step Functions.
const MACHINE = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:publish`;
const window = digestWindow(new Date('2026-11-29T18:00:00.000Z'));
const listed = (name: string, start: string) => ({
  executionArn: `arn:aws:states:us-east-1:${ACCOUNT}:execution:publish:${name}`,
  stateMachineArn: MACHINE,
  name,
  status: 'SUCCEEDED' as const,
  startDate: new Date(start),
});

describe('executionsInWindow', () => {
  const sfn = mockClient(SFNClient);
  afterEach(() => sfn.reset());

  test('pages newest first, stops at the first page reaching before the window, describes only those inside', async () => {
    // Prepare
    sfn
      .on(ListExecutionsCommand, { stateMachineArn: MACHINE, nextToken: undefined })
      .resolves({ executions: [listed('retry', '2026-11-28T12:00:00Z')], nextToken: 'page-2' })
      .on(ListExecutionsCommand, { stateMachineArn: MACHINE, nextToken: 'page-2' })
      .resolves({
        executions: [listed('weekly', '2026-11-28T06:00:00Z'), listed('last-week', '2026-11-21T06:00:00Z')],
        nextToken: 'page-3',
      });
    sfn.on(DescribeExecutionCommand).callsFake((input: { executionArn: string }) => ({
      executionArn: input.executionArn,
      name: input.executionArn.split(':').pop(),
      status: 'SUCCEEDED',
      startDate: new Date('2026-11-28T06:00:00Z'),
      output: '{}',
    }));

    // Act
    const records = await executionsInWindow(new ClientFactory(), MACHINE, window);

    // Assess
    expect(records.map((r) => r.name)).toEqual(['retry', 'weekly']);
    expect(sfn.commandCalls(ListExecutionsCommand)).toHaveLength(2);
    expect(sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input.executionArn)).toEqual([
      `arn:aws:states:us-east-1:${ACCOUNT}:execution:publish:retry`,
      `arn:aws:states:us-east-1:${ACCOUNT}:execution:publish:weekly`,
    ]);
  });
});
