import { DeregisterImageCommand, DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ClientFactory } from '../../lambdas/aws/clients';
import { realClock } from '../../lambdas/aws/rate-limiter';
import { runInvocation } from '../../lambdas/shared/invocation';
import { CallRecorder, ec2IdsIn, type ResourceRef } from '../support/call-recorder';

/** A factory whose EC2 answers without a network: DeregisterImage of `ami-...dead` fails as EC2 would. */
function answeringFactory(recorder: CallRecorder): ClientFactory {
  return new ClientFactory({
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
    plugins: [
      recorder.plugin,
      (stack) =>
        stack.add(
          (_next, context) => async (args) => {
            const input = args.input as { ImageId?: string };
            if (context.commandName === 'DeregisterImageCommand' && input.ImageId === 'ami-0000000000000dead')
              throw Object.assign(new Error('gone'), { name: 'InvalidAMIID.Unavailable', $metadata: {} });
            return { output: { $metadata: {} }, response: {} } as never;
          },
          { step: 'initialize', name: 'answer' },
        ),
    ],
  });
}

describe('the call recorder', () => {
  test('records calls inside an invocation with the resources they authorize, and nothing outside one', async () => {
    const described: ResourceRef[][] = [];
    const recorder = new CallRecorder({
      describe: async (refs) => {
        described.push([...refs]);
        return refs.map((ref) => ({
          ...ref,
          type: 'image',
          exists: true,
          tags: { team: 'os' },
          owner: '123456789012',
        }));
      },
      references: (call) => (call.operation === 'DescribeImages' ? [] : ec2IdsIn(call)),
    });
    const ec2 = answeringFactory(recorder).client(EC2Client, 'eu-west-1');
    const invocation = {
      functionName: 'PruneExecuteFunction0E34BABC',
      env: {},
      clock: realClock,
      remainingMs: () => 60_000,
      services: {},
    };

    await ec2.send(new DeregisterImageCommand({ ImageId: 'ami-0000000000000aaaa' }));
    await runInvocation(invocation, async () => {
      await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
      await ec2.send(new DeregisterImageCommand({ ImageId: 'ami-0000000000000bbbb' }));
      await ec2.send(new DeregisterImageCommand({ ImageId: 'ami-0000000000000dead' })).catch(() => undefined);
    });

    expect(recorder.calls.map((c) => [c.functionName, c.operation, c.region, c.succeeded, c.errorCode])).toEqual([
      ['PruneExecuteFunction0E34BABC', 'DescribeImages', 'eu-west-1', true, undefined],
      ['PruneExecuteFunction0E34BABC', 'DeregisterImage', 'eu-west-1', true, undefined],
      ['PruneExecuteFunction0E34BABC', 'DeregisterImage', 'eu-west-1', false, 'InvalidAMIID.Unavailable'],
    ]);
    expect(recorder.calls[1]!.input).toEqual({ ImageId: 'ami-0000000000000bbbb' });
    expect(recorder.calls[1]!.resources).toEqual([
      expect.objectContaining({ id: 'ami-0000000000000bbbb', region: 'eu-west-1', tags: { team: 'os' } }),
    ]);
    expect(described.flat().map((r) => r.id)).toEqual(['ami-0000000000000bbbb', 'ami-0000000000000dead']);
  });

  test('finds a copy source in its own region', () => {
    const refs = ec2IdsIn({
      service: 'ec2',
      operation: 'CopyImage',
      region: 'eu-west-1',
      input: { SourceImageId: 'ami-0000000000000aaaa', SourceRegion: 'us-east-1', Name: 'FreeBSD' },
    });

    expect(refs).toEqual([{ service: 'ec2', region: 'us-east-1', id: 'ami-0000000000000aaaa' }]);
  });
});
