import {
  CopyImageCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  type Image,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  RegisterImageCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { CreateTopicCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParametersByPathCommand, GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ClientFactory } from '../../../lambdas/aws/clients';
import { createAwsSim } from '../../../scripts/aws-sim';
import { type MotoServer, startMoto } from '../../support/moto-server';

const SOURCE = 'us-east-1';
const TARGET = 'eu-west-1';
const NAME = 'FreeBSD 15.0-CURRENT-amd64-20260305 base UFS';

/** What a call gave, reduced to what both backends model: ids replaced by their order of appearance. */
type Normalized = Record<string, unknown>;

async function outcome<T>(call: Promise<T>, pick: (value: T) => unknown): Promise<unknown> {
  try {
    return pick(await call);
  } catch (error) {
    return { error: (error as Error).name };
  }
}

function imageView(image: Image | undefined) {
  if (!image) return undefined;
  return {
    name: image.Name,
    description: image.Description,
    state: image.State,
    // Not compared: the emulator leaves Architecture out of DescribeImages (EC2 always reports it).
    rootDeviceName: image.RootDeviceName,
    imageType: image.ImageType,
    public: image.Public,
    ownerId: image.OwnerId,
    devices: image.BlockDeviceMappings?.map((m) => ({ device: m.DeviceName, snapshot: Boolean(m.Ebs?.SnapshotId) })),
    tags: Object.fromEntries((image.Tags ?? []).map((t) => [t.Key, t.Value])),
  };
}

/**
 * The same calls, in the same order, against one backend: register, describe with filters, tag, copy, share,
 * describe snapshots and attributes, deregister, delete snapshots, launch and terminate, SSM, SNS, STS. Only what
 * both the emulator and the model implement is compared (the emulator's known gaps are in DESIGN.md section 4).
 */
async function script(clients: ClientFactory): Promise<Normalized> {
  const ec2 = clients.client(EC2Client, SOURCE);
  const target = clients.client(EC2Client, TARGET);
  const out: Normalized = {};
  const registered = await ec2.send(
    new RegisterImageCommand({
      Name: NAME,
      Description: 'FreeBSD/amd64 main@a1b2c3d',
      Architecture: 'x86_64',
      RootDeviceName: '/dev/sda1',
      VirtualizationType: 'hvm',
      EnaSupport: true,
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 6, VolumeType: 'gp3' } }],
    }),
  );
  const imageId = registered.ImageId!;
  const described = await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
  out.registered = imageView(described.Images?.[0]);
  const snapshotId = described.Images![0]!.BlockDeviceMappings![0]!.Ebs!.SnapshotId!;
  await ec2.send(
    new CreateTagsCommand({
      Resources: [imageId, snapshotId],
      Tags: [
        { Key: 'ami-pipeline:managed-by', Value: 'ami-pipeline' },
        { Key: 'series', Value: '15.0-CURRENT/amd64/base/ufs' },
      ],
    }),
  );
  const names = (filters: { Name: string; Values: string[] }[]) =>
    outcome(ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: filters })), (r) =>
      (r.Images ?? []).map((i) => i.Name),
    );
  out.byTag = await names([{ Name: 'tag:series', Values: ['15.0-CURRENT/amd64/base/ufs'] }]);
  out.byTagKey = await names([{ Name: 'tag-key', Values: ['ami-pipeline:managed-by'] }]);
  out.byWildcard = await names([{ Name: 'name', Values: ['FreeBSD 15.0-CURRENT-*'] }]);
  out.byState = await names([{ Name: 'state', Values: ['available'] }]);
  out.byOtherName = await names([{ Name: 'name', Values: ['FreeBSD 14*'] }]);
  out.unknownImage = await outcome(
    ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-0123456789abcdef0'] })),
    () => 'ok',
  );

  const copy = await target.send(
    new CopyImageCommand({ Name: NAME, Description: 'copy', SourceImageId: imageId, SourceRegion: SOURCE }),
  );
  const copyId = copy.ImageId!;
  out.copy = await outcome(target.send(new DescribeImagesCommand({ ImageIds: [copyId] })), (r) =>
    imageView(r.Images?.[0]),
  );

  await ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [{ Group: 'all' }] } }));
  out.launchPermission = await outcome(
    ec2.send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' })),
    (r) => r.LaunchPermissions,
  );
  out.publicImages = await names([{ Name: 'is-public', Values: ['true'] }]);
  await ec2.send(
    new ModifySnapshotAttributeCommand({
      SnapshotId: snapshotId,
      Attribute: 'createVolumePermission',
      OperationType: 'add',
      GroupNames: ['all'],
    }),
  );
  out.volumePermission = await outcome(
    ec2.send(new DescribeSnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission' })),
    (r) => r.CreateVolumePermissions,
  );
  const account = (await clients.client(STSClient, SOURCE).send(new GetCallerIdentityCommand({}))).Account!;
  out.account = account;
  out.snapshots = await outcome(
    ec2.send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'owner-id', Values: [account] }] })),
    (r) =>
      (r.Snapshots ?? []).map((s) => ({
        state: s.State,
        owner: s.OwnerId === account,
        encrypted: s.Encrypted,
        tags: Object.fromEntries((s.Tags ?? []).map((t) => [t.Key, t.Value])),
      })),
  );
  out.deleteInUse = await outcome(ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })), () => 'deleted');

  const copied = await target.send(new DescribeImagesCommand({ ImageIds: [copyId] }));
  const copySnapshot = copied.Images![0]!.BlockDeviceMappings![0]!.Ebs!.SnapshotId!;
  await target.send(new DeregisterImageCommand({ ImageId: copyId }));
  out.afterDeregister = await outcome(target.send(new DescribeImagesCommand({ Owners: ['self'] })), (r) =>
    (r.Images ?? []).map((i) => i.State),
  );
  out.deleteReleased = await outcome(
    target.send(new DeleteSnapshotCommand({ SnapshotId: copySnapshot })),
    () => 'deleted',
  );
  out.deleteAgain = await outcome(
    target.send(new DeleteSnapshotCommand({ SnapshotId: copySnapshot })),
    () => 'deleted',
  );

  const launched = await ec2.send(
    new RunInstancesCommand({
      ImageId: imageId,
      InstanceType: 'c7i.large',
      MinCount: 1,
      MaxCount: 1,
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'ami-pipeline:boot-test', Value: 'run-1' }] }],
    }),
  );
  const instance = launched.Instances![0]!;
  out.launched = {
    imageId: instance.ImageId === imageId,
    type: instance.InstanceType,
    count: launched.Instances!.length,
  };
  const running = (filters: { Name: string; Values: string[] }[]) =>
    outcome(ec2.send(new DescribeInstancesCommand({ Filters: filters })), (r) =>
      (r.Reservations ?? []).flatMap((res) => res.Instances ?? []).map((i) => i.State?.Name),
    );
  out.running = await running([
    { Name: 'tag:ami-pipeline:boot-test', Values: ['run-1'] },
    { Name: 'instance-state-name', Values: ['running'] },
  ]);
  const terminated = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instance.InstanceId!] }));
  out.terminating = terminated.TerminatingInstances?.map((t) => t.PreviousState?.Name);
  out.afterTerminate = await running([{ Name: 'instance-id', Values: [instance.InstanceId!] }]);

  const ssm = clients.client(SSMClient, SOURCE);
  await ssm.send(
    new PutParameterCommand({
      Name: '/ami-pipeline/freebsd/amd64/base/ufs/15.0/CURRENT',
      Value: imageId,
      Type: 'String',
    }),
  );
  out.parameter = await outcome(
    ssm.send(new GetParametersCommand({ Names: ['/ami-pipeline/freebsd/amd64/base/ufs/15.0/CURRENT', '/missing'] })),
    (r) => ({
      values: r.Parameters?.map((p) => [p.Name, p.Value === imageId, p.Version, p.Type]),
      invalid: r.InvalidParameters,
    }),
  );
  out.parameterExists = await outcome(
    ssm.send(
      new PutParameterCommand({
        Name: '/ami-pipeline/freebsd/amd64/base/ufs/15.0/CURRENT',
        Value: 'x',
        Type: 'String',
      }),
    ),
    () => 'written',
  );
  out.byPath = await outcome(
    ssm.send(new GetParametersByPathCommand({ Path: '/ami-pipeline', Recursive: true })),
    (r) => r.Parameters?.map((p) => p.Name),
  );

  const sns = clients.client(SNSClient, SOURCE);
  const topic = await sns.send(new CreateTopicCommand({ Name: 'ami-pipeline-announce' }));
  out.topic = topic.TopicArn?.replace(account, '<account>');
  out.published = await outcome(
    sns.send(new PublishCommand({ TopicArn: topic.TopicArn, Subject: 'New FreeBSD AMIs', Message: 'body' })),
    (r) => typeof r.MessageId,
  );
  out.publishedJson = await outcome(
    sns.send(
      new PublishCommand({
        TopicArn: topic.TopicArn,
        MessageStructure: 'json',
        Message: '{"default":"d","email":"e"}',
      }),
    ),
    (r) => typeof r.MessageId,
  );
  return out;
}

describe('simulated AWS conforms to the emulator where both model AWS', () => {
  let moto: MotoServer;

  beforeAll(async () => {
    moto = await startMoto();
  });

  afterAll(async () => {
    await moto?.stop();
  });

  test('the same script of calls gives the same normalized answers', async () => {
    const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
    const emulator = new ClientFactory({ endpoint: moto.endpoint, credentials, maxAttempts: 1 });
    const sim = createAwsSim({ physics: 'off' });

    const expected = await script(emulator);
    const actual = await script(sim.clientFactory({ maxAttempts: 1 }));

    expect(actual).toEqual(expected);
  });
});
