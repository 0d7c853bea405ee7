import type { RecordedCall } from '../support/call-recorder';
import { authorizationRequests, UnmappedCallError } from './requests';

const facts = { partition: 'aws', account: '123456789012', topicKey: () => undefined, instanceProfileRoles: () => [] };
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

  test('a launch with an instance profile passes its role to EC2 and creates the mapped blank volumes', async () => {
    const profile = 'arn:aws:iam::123456789012:instance-profile/Checks';
    const checkRole = 'arn:aws:iam::123456789012:role/CheckInstances';
    const withProfile = { ...facts, instanceProfileRoles: (arn: string) => (arn === profile ? [checkRole] : []) };
    const owned = { service: 'ec2', region: 'eu-west-1', exists: true, tags: {}, owner: '123456789012' };
    const launch = (IamInstanceProfile: { Arn: string }) =>
      call(
        'RunInstances',
        {
          ImageId: 'ami-0000000000000aaaa',
          InstanceType: 'c7g.4xlarge',
          SubnetId: 'subnet-0000000000000aaaa',
          SecurityGroupIds: ['sg-0000000000000aaaa'],
          IamInstanceProfile,
          MetadataOptions: { HttpTokens: 'required' },
          BlockDeviceMappings: [
            { DeviceName: '/dev/sdf', Ebs: { VolumeSize: 120, VolumeType: 'gp3', Encrypted: true } },
          ],
        },
        [
          { ...owned, id: 'ami-0000000000000aaaa', type: 'image', snapshotIds: [] },
          { ...owned, id: 'subnet-0000000000000aaaa', type: 'subnet', availabilityZone: 'eu-west-1a', vpcId: 'vpc-1' },
          { ...owned, id: 'sg-0000000000000aaaa', type: 'security-group' },
        ],
      );

    const requests = await authorizationRequests(launch({ Arn: profile }), withProfile, role);

    expect(requests.filter((r) => r.action === 'iam:PassRole').map((r) => [r.resource, r.context])).toEqual([
      [
        checkRole,
        {
          'aws:RequestedRegion': 'eu-west-1',
          'aws:SecureTransport': 'true',
          'aws:PrincipalArn': role,
          'aws:PrincipalAccount': '123456789012',
          'iam:PassedToService': 'ec2.amazonaws.com',
        },
      ],
    ]);
    expect(requests.find((r) => r.resourceType === 'instance')!.context).toMatchObject({
      'ec2:InstanceProfile': profile,
      'ec2:MetadataHttpTokens': 'required',
    });
    expect(
      requests.filter((r) => r.action === 'ec2:RunInstances' && r.resourceType === 'volume').map((r) => r.context),
    ).toContainEqual(
      expect.objectContaining({ 'ec2:VolumeSize': '120', 'ec2:VolumeType': 'gp3', 'ec2:Encrypted': 'true' }),
    );
    await expect(
      authorizationRequests(launch({ Arn: 'arn:aws:iam::123456789012:instance-profile/Other' }), withProfile, role),
    ).rejects.toThrow(/no instance profile of the stack/);
  });

  test('S3 reads authorize GetObject, a missing key ListBucket as well, and listings ListBucket with the prefix', async () => {
    const s3 = (operation: string, input: Record<string, unknown>, outcome: Partial<RecordedCall> = {}) =>
      ({ ...call(operation, { Bucket: 'reports', ...input }), service: 's3', ...outcome }) as RecordedCall;
    const bucketPolicy = { kind: 'bucket', arn: 'arn:aws:s3:::reports' };

    const found = await authorizationRequests(s3('HeadObject', { Key: 'repro/w/summary.json' }), facts, role);
    const missing = await authorizationRequests(
      s3('HeadObject', { Key: 'repro/w/summary.json' }, { succeeded: false, errorCode: 'NotFound' }),
      facts,
      role,
    );
    const listed = await authorizationRequests(s3('ListObjectsV2', { Prefix: 'repro/' }), facts, role);

    expect(found.map((r) => [r.action, r.resource, r.resourcePolicy])).toEqual([
      ['s3:GetObject', 'arn:aws:s3:::reports/repro/w/summary.json', bucketPolicy],
    ]);
    expect(missing.map((r) => [r.action, r.resource])).toEqual([
      ['s3:GetObject', 'arn:aws:s3:::reports/repro/w/summary.json'],
      ['s3:ListBucket', 'arn:aws:s3:::reports'],
    ]);
    expect(listed.map((r) => [r.action, r.resource, r.context['s3:prefix']])).toEqual([
      ['s3:ListBucket', 'arn:aws:s3:::reports', 'repro/'],
    ]);
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
