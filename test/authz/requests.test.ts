import type { RecordedCall } from '../support/call-recorder';
import { authorizationRequests, UnmappedCallError } from './requests';

const facts = { partition: 'aws', account: '123456789012', topicKey: () => undefined };
const role = 'arn:aws:iam::123456789012:role/test';
const call = (operation: string, input: Record<string, unknown>, resources: RecordedCall['resources'] = []) =>
  ({
    sequence: 0,
    functionName: 'TestFunction',
    service: 'ec2',
    operation,
    region: 'eu-west-1',
    input,
    resources,
    succeeded: true,
  }) as RecordedCall;

describe('mapping a recorded call to the requests AWS evaluates', () => {
  test('a CopyImage authorizes the source image and each of its snapshots, with the request tags', async () => {
    const source = { service: 'ec2', region: 'us-east-1', exists: true, owner: '123456789012' };
    const requests = await authorizationRequests(
      call(
        'CopyImage',
        {
          SourceImageId: 'ami-0000000000000aaaa',
          SourceRegion: 'us-east-1',
          TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'managed', Value: 'yes' }] }],
        },
        [
          { ...source, id: 'ami-0000000000000aaaa', type: 'image', tags: {}, snapshotIds: ['snap-0000000000000aaaa'] },
          { ...source, id: 'snap-0000000000000aaaa', type: 'snapshot', tags: { team: 'os' } },
        ],
      ),
      facts,
      role,
    );

    expect(requests.map((r) => [r.action, r.resource])).toEqual([
      ['ec2:CopyImage', 'arn:aws:ec2:us-east-1::image/ami-0000000000000aaaa'],
      ['ec2:CopyImage', 'arn:aws:ec2:us-east-1::snapshot/snap-0000000000000aaaa'],
      ['ec2:CreateTags', 'arn:aws:ec2:eu-west-1::image/ami-000000000000new0'],
    ]);
    expect(requests[0]!.context).toMatchObject({
      'ec2:Owner': '123456789012',
      'aws:RequestTag/managed': 'yes',
      'aws:TagKeys': ['managed'],
      'aws:RequestedRegion': 'eu-west-1',
    });
    // AWS supplies no resource tags of the source snapshot to CopyImage, so the mapping leaves them out.
    expect(requests[1]!.context['aws:ResourceTag/team']).toBeUndefined();
    expect(requests[2]!.context).toMatchObject({ 'ec2:CreateAction': 'CopyImage' });
  });

  test('a call the mapping does not know fails instead of being skipped', async () => {
    await expect(authorizationRequests(call('CreateVpc', { CidrBlock: '10.0.0.0/16' }), facts, role)).rejects.toThrow(
      UnmappedCallError,
    );
    await expect(authorizationRequests(call('FlyToTheMoon', {}), facts, role)).rejects.toThrow(
      /no action in AWS's authorization data/,
    );
  });

  test('a call whose resource state was not recorded fails', async () => {
    await expect(
      authorizationRequests(call('DeregisterImage', { ImageId: 'ami-0000000000000aaaa' }), facts, role),
    ).rejects.toThrow(/state of ami-0000000000000aaaa in eu-west-1 was not recorded/);
  });
});
