import {
  CopyImageCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DisableImageBlockPublicAccessCommand,
  EC2Client,
  EnableImageDeprecationCommand,
  GetEbsEncryptionByDefaultCommand,
  GetImageBlockPublicAccessStateCommand,
  ModifyImageAttributeCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { ClientFactory } from '../../lambdas/aws/clients';
import { applyImages } from '../../lambdas/aws/publish/apply';
import {
  CopyCleanupError,
  CopyStartError,
  deregisterCopy,
  findByName,
  observeImages,
  startCopy,
} from '../../lambdas/aws/publish/copy';
import { preflightRegion } from '../../lambdas/aws/publish/preflight';
import { pollRegion, prepareRegion, publishContext, type RegionProgress } from '../../lambdas/aws/publish/service';
import { type Clock, RateLimiter, unlimited } from '../../lambdas/aws/rate-limiter';
import { Logger } from '../../lambdas/shared/logger';
import { type PipelineConfigInput, parseConfig } from '../../lambdas/core/config';
import { freebsdProfile } from '../../lambdas/core/naming';
import { copyClientToken, type SourceImage } from '../../lambdas/core/publish';

const ec2 = mockClient(EC2Client);
const NOW = new Date('2026-11-21T06:00:00Z');
const SOURCE_NAME = 'FreeBSD 15.0-CURRENT-amd64-20261120 base UFS';
const SOURCE_ID = 'ami-0000000000000aaaa';

function throttled(): Error {
  return Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded', $metadata: {} });
}

function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: {} });
}

function context(config: PipelineConfigInput = {}, limiter = unlimited) {
  return publishContext({
    config: parseConfig({ regions: { allow: ['us-east-1', 'eu-west-1'] }, ...config }),
    clients: new ClientFactory({ maxAttempts: 1 }),
    limiter,
    now: () => NOW,
  });
}

const parsed = freebsdProfile.parse(SOURCE_NAME);
if (!parsed.managed) throw new Error('fixture name must parse');
const source: SourceImage = {
  imageId: SOURCE_ID,
  region: 'us-east-1',
  name: SOURCE_NAME,
  description: 'FreeBSD/amd64 main@abc1234',
  architecture: 'x86_64',
  parsed,
  snapshotIds: ['snap-0000000000000aaaa'],
};
const sourceImage = {
  ImageId: SOURCE_ID,
  Name: SOURCE_NAME,
  State: 'available',
  Architecture: 'x86_64' as const,
  Description: 'FreeBSD/amd64 main@abc1234',
};

beforeEach(() => ec2.reset());

describe('starting a copy', () => {
  test('sends the same client token for the same source, region, attempt and run', async () => {
    ec2.on(CopyImageCommand).resolves({ ImageId: 'ami-0000000000000c0py' });

    await startCopy(context(), 'eu-west-1', source, 1, 'run-1', {});
    await startCopy(context(), 'eu-west-1', source, 1, 'run-1', {});

    const tokens = ec2.commandCalls(CopyImageCommand).map((c) => c.args[0].input.ClientToken);
    const token = copyClientToken(SOURCE_ID, 'eu-west-1', 1, 'run-1');
    expect(tokens).toEqual([token, token]);
    expect(ec2.commandCalls(CopyImageCommand)[0]!.args[0].input).toMatchObject({
      SourceRegion: 'us-east-1',
      CopyImageTags: false,
      TagSpecifications: [{ ResourceType: 'image' }, { ResourceType: 'snapshot' }],
    });
  });

  test('treats InvalidAMIName.Duplicate as already copied and finds the copy by name, never a deregistered one', async () => {
    ec2.on(CopyImageCommand).rejects(awsError('InvalidAMIName.Duplicate', `AMI name ${SOURCE_NAME} is already in use`));
    ec2.on(DescribeImagesCommand).resolves({
      Images: [
        { ImageId: 'ami-0000000000000dead', Name: SOURCE_NAME, State: 'deregistered' },
        { ImageId: 'ami-0000000000000dup1', Name: SOURCE_NAME, State: 'pending' },
      ],
    });

    const imageId = await startCopy(context(), 'eu-west-1', source, 1, 'run-1', {});

    expect(imageId).toBe('ami-0000000000000dup1');
    expect(ec2.commandCalls(DescribeImagesCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: 'name', Values: [SOURCE_NAME] },
    ]);
  });
});

describe('copy requests and answers', () => {
  test('a copy is asked for by the source’s name and description, with the tags on the image and its snapshots', async () => {
    // Prepare
    ec2.on(CopyImageCommand).resolves({ ImageId: 'ami-0000000000000c0py' });
    const tags = { 'ami-pipeline:series': '15.0-CURRENT/amd64/base/ufs' };

    // Act
    const imageId = await startCopy(context(), 'eu-west-1', source, 2, 'run-1', tags);

    // Assess
    expect(imageId).toBe('ami-0000000000000c0py');
    const tagList = [{ Key: 'ami-pipeline:series', Value: '15.0-CURRENT/amd64/base/ufs' }];
    expect(ec2.commandCalls(CopyImageCommand)[0]!.args[0].input).toEqual({
      Name: SOURCE_NAME,
      Description: 'FreeBSD/amd64 main@abc1234',
      SourceImageId: SOURCE_ID,
      SourceRegion: 'us-east-1',
      ClientToken: copyClientToken(SOURCE_ID, 'eu-west-1', 2, 'run-1'),
      CopyImageTags: false,
      TagSpecifications: [
        { ResourceType: 'image', Tags: tagList },
        { ResourceType: 'snapshot', Tags: tagList },
      ],
    });
  });

  test('a copy answered without an image id did not start', async () => {
    // Prepare
    ec2.on(CopyImageCommand).resolves({});

    // Act
    const started = startCopy(context(), 'eu-west-1', source, 1, 'run-1', {});

    // Assess
    await expect(started).rejects.toThrow(
      new CopyStartError(`CopyImage of ${SOURCE_ID} to eu-west-1 returned no image id`),
    );
  });

  test('a duplicate name with no image of ours by that name did not start, and says why', async () => {
    // Prepare
    const duplicate = awsError('InvalidAMIName.Duplicate');
    ec2.on(CopyImageCommand).rejects(duplicate);
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });

    // Act
    const error = await startCopy(context(), 'eu-west-1', source, 1, 'run-1', {}).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(CopyStartError);
    expect(error).toMatchObject({
      message: `${SOURCE_NAME} is reported as a duplicate in eu-west-1 but no image of ours has that name`,
      cause: duplicate,
    });
  });

  test('a copy found by name after a duplicate is logged with its region, source and image', async () => {
    // Prepare
    const lines: string[] = [];
    const ctx = { ...context(), logger: new Logger({}, 'info', (line) => lines.push(line)) };
    ec2.on(CopyImageCommand).rejects(awsError('InvalidAMIName.Duplicate'));
    ec2.on(DescribeImagesCommand).resolves({
      Images: [{ ImageId: 'ami-0000000000000dup1', Name: SOURCE_NAME, State: 'available' }],
    });

    // Act
    await startCopy(ctx, 'eu-west-1', source, 1, 'run-1', {});

    // Assess
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({
        message: 'copy already exists',
        region: 'eu-west-1',
        source: SOURCE_ID,
        imageId: 'ami-0000000000000dup1',
      }),
    ]);
  });

  test('a copy found by name is one of ours, pending rather than failed, or failed when no other is left', async () => {
    // Prepare
    const failed = { ImageId: 'ami-00000000000000f1', Name: SOURCE_NAME, State: 'failed' as const };
    const pending = { ImageId: 'ami-00000000000000p1', Name: SOURCE_NAME, State: 'pending' as const };
    ec2
      .on(DescribeImagesCommand)
      .resolvesOnce({ Images: [failed, pending] })
      .resolves({ Images: [failed] });

    // Act
    const found = [
      await findByName(context(), 'eu-west-1', SOURCE_NAME),
      await findByName(context(), 'eu-west-1', SOURCE_NAME),
    ];

    // Assess
    expect(found).toEqual(['ami-00000000000000p1', 'ami-00000000000000f1']);
    expect(ec2.commandCalls(DescribeImagesCommand)[0]!.args[0].input.Owners).toEqual(['self']);
  });

  test('a copy found by name is the available one before a failed one, and never a deregistered one', async () => {
    // Prepare
    const image = (ImageId: string, State: 'available' | 'failed' | 'deregistered') => ({
      ImageId,
      Name: SOURCE_NAME,
      State,
    });
    ec2
      .on(DescribeImagesCommand)
      .resolvesOnce({ Images: [image('ami-00000000000000f1', 'failed'), image('ami-00000000000000a1', 'available')] })
      .resolvesOnce({
        Images: [image('ami-00000000000000d1', 'deregistered'), image('ami-00000000000000f1', 'failed')],
      })
      .resolves({ Images: [image('ami-00000000000000d1', 'deregistered')] });

    // Act
    const found = [];
    for (let i = 0; i < 3; i++) found.push(await findByName(context(), 'eu-west-1', SOURCE_NAME));

    // Assess
    expect(found).toEqual(['ami-00000000000000a1', 'ami-00000000000000f1', undefined]);
  });

  test('observing copies asks for at most 200 ids at once and reads state, reason and EBS snapshots', async () => {
    // Prepare
    const ids = Array.from({ length: 201 }, (_, i) => `ami-${String(i).padStart(17, '0')}`);
    ec2
      .on(DescribeImagesCommand)
      .resolvesOnce({
        Images: [
          {
            ImageId: ids[0],
            State: 'failed',
            StateReason: { Message: 'InternalError' },
            BlockDeviceMappings: [
              { DeviceName: '/dev/sda1', Ebs: { SnapshotId: 'snap-00000000000000e1' } },
              { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' },
            ],
          },
          { State: 'available' },
        ],
      })
      .resolves({ Images: [{ ImageId: ids[200] }] });

    // Act
    const observed = await observeImages(context(), 'eu-west-1', ids);

    // Assess
    expect(observed).toEqual({
      [ids[0]!]: { state: 'failed', reason: 'InternalError', snapshotIds: ['snap-00000000000000e1'] },
      [ids[200]!]: { state: 'unknown', reason: undefined, snapshotIds: [] },
    });
    const requests = ec2.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input);
    expect(requests.map((r) => [r.Owners, r.Filters?.[0]?.Name, r.Filters?.[0]?.Values?.length])).toEqual([
      [['self'], 'image-id', 200],
      [['self'], 'image-id', 1],
    ]);
  });
});

describe('a copy that fails', () => {
  test('is deregistered with its snapshots and copied again with a new token, up to the bound', async () => {
    const ctx = context({ publish: { maxCopyAttempts: 2, pollIntervalSeconds: 0 } });
    let copies = 0;
    ec2.on(CopyImageCommand).callsFake(async () => ({ ImageId: `ami-00000000000000c${++copies}` }));
    ec2.on(GetImageBlockPublicAccessStateCommand).resolves({ ImageBlockPublicAccessState: 'unblocked' });
    ec2.on(GetEbsEncryptionByDefaultCommand).resolves({ EbsEncryptionByDefault: false });
    ec2.on(DeregisterImageCommand).resolves({});
    ec2.on(DescribeImagesCommand).callsFake(async (input) => {
      const filter = input.Filters?.[0];
      if (filter?.Name === 'image-id' && filter.Values.includes(SOURCE_ID)) return { Images: [sourceImage] };
      if (filter?.Name === 'image-id') {
        return {
          Images: filter.Values.map((id: string) => ({
            ImageId: id,
            State: 'failed',
            StateReason: { Message: 'InternalError' },
          })),
        };
      }
      return { Images: [] };
    });

    const prepared = await prepareRegion(ctx, {
      region: 'eu-west-1',
      images: [SOURCE_ID],
      pollSeconds: 0,
      runId: 'run-1',
    });
    const retried = await pollRegion(ctx, prepared);
    const given: RegionProgress = await pollRegion(ctx, retried);

    expect(prepared.copies).toEqual([
      expect.objectContaining({ imageId: 'ami-00000000000000c1', state: 'copying', attempt: 1 }),
    ]);
    expect(retried.copies).toEqual([
      expect.objectContaining({ imageId: 'ami-00000000000000c2', state: 'copying', attempt: 2 }),
    ]);
    expect(given.copies[0]).toMatchObject({ state: 'failed', error: expect.stringContaining('attempt 2 of 2') });
    expect(given.pending).toBe(false);
    expect(ec2.commandCalls(DeregisterImageCommand).map((c) => c.args[0].input)).toEqual([
      { ImageId: 'ami-00000000000000c1', DeleteAssociatedSnapshots: true },
      { ImageId: 'ami-00000000000000c2', DeleteAssociatedSnapshots: true },
    ]);
    const tokens = ec2.commandCalls(CopyImageCommand).map((c) => c.args[0].input.ClientToken);
    expect(new Set(tokens).size).toBe(2);
    // One DescribeImages per poll for the region's copies in flight.
    const polls = ec2
      .commandCalls(DescribeImagesCommand)
      .filter((c) => c.args[0].input.Filters?.[0]?.Values?.[0]?.startsWith('ami-00000000000000c'));
    expect(polls).toHaveLength(2);
  });
});

describe('a RequestLimitExceeded storm that outlasts the SDK retries', () => {
  test('fails only the throttled changes, skips what follows them on the same image, and applies the rest', async () => {
    let calls = 0;
    ec2.on(ModifyImageAttributeCommand).callsFake(async () => {
      calls++;
      if (calls % 2 === 0) throw throttled();
      return {};
    });
    ec2.on(CreateTagsCommand).rejects(throttled());
    const images = Array.from({ length: 6 }, (_, i) => ({
      id: `source-${i}`,
      actions: [
        {
          kind: 'launch-permission' as const,
          imageId: `ami-00000000000000${i}0`,
          reason: 'launch permission for all is missing',
        },
      ],
    }));
    const tagged = {
      id: 'source-tagged',
      actions: [
        { kind: 'tag' as const, resourceIds: ['ami-0000000000000000'], tags: { a: 'b' }, reason: 'tags missing' },
        { kind: 'launch-permission' as const, imageId: 'ami-0000000000000000', reason: 'launch permission missing' },
      ],
    };

    const outcome = await applyImages(context(), 'eu-west-1', [...images, tagged]);

    const results = [...outcome.values()];
    expect(results.filter((r) => r.applied === 1)).toHaveLength(3);
    expect(results.filter((r) => r.failure?.code === 'RequestLimitExceeded')).toHaveLength(4);
    expect(outcome.get('source-tagged')).toMatchObject({
      applied: 0,
      failure: { action: { kind: 'tag' } },
      skipped: [{ kind: 'launch-permission' }],
    });
    expect(calls).toBe(6);
  });

  test('fails the copies that could not start and reports them, without throwing', async () => {
    ec2.on(GetImageBlockPublicAccessStateCommand).resolves({ ImageBlockPublicAccessState: 'unblocked' });
    ec2.on(GetEbsEncryptionByDefaultCommand).resolves({ EbsEncryptionByDefault: false });
    ec2
      .on(DescribeImagesCommand)
      .callsFake(async (input) =>
        input.Filters?.[0]?.Values?.includes(SOURCE_ID) ? { Images: [sourceImage] } : { Images: [] },
      );
    ec2.on(CopyImageCommand).rejects(throttled());

    const progress = await prepareRegion(context(), {
      region: 'eu-west-1',
      images: [SOURCE_ID],
      pollSeconds: 0,
      runId: 'run-1',
    });

    expect(progress.copies[0]).toMatchObject({
      state: 'failed',
      error: 'RequestLimitExceeded: Request limit exceeded.',
    });
    expect(progress.pending).toBe(false);
  });
});

describe('preflight of a region with image block public access on', () => {
  beforeEach(() => {
    ec2
      .on(GetImageBlockPublicAccessStateCommand)
      .resolves({ ImageBlockPublicAccessState: 'block-new-sharing', ManagedBy: 'account' });
    ec2.on(GetEbsEncryptionByDefaultCommand).resolves({ EbsEncryptionByDefault: false });
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    ec2.on(DisableImageBlockPublicAccessCommand).resolves({ ImageBlockPublicAccessState: 'unblocked' });
  });

  test('reports it and fails the region when the configuration does not allow turning it off', async () => {
    const report = await preflightRegion(context(), 'eu-west-1');

    expect(report.ok).toBe(false);
    expect(report.problems[0]).toContain('set publish.disableBlockPublicAccess');
    expect(ec2.commandCalls(DisableImageBlockPublicAccessCommand)).toHaveLength(0);
  });

  test('turns it off when allowed, no more often than its bucket of 1 per 10 s', async () => {
    const sleeps: number[] = [];
    let time = 0;
    const clock: Clock = {
      now: () => time,
      sleep: async (ms) => {
        sleeps.push(ms);
        time += ms;
      },
    };
    const ctx = context({ publish: { disableBlockPublicAccess: true } }, new RateLimiter(undefined, clock));

    const first = await preflightRegion(ctx, 'eu-west-1');
    const second = await preflightRegion(ctx, 'eu-west-1');

    expect(first.ok).toBe(true);
    expect(first.notes).toContain('image block public access was on and has been turned off');
    expect(second.ok).toBe(true);
    expect(ec2.commandCalls(DisableImageBlockPublicAccessCommand)).toHaveLength(2);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(10_000);
  });

  test('leaves a setting managed by a declarative policy alone and reports it', async () => {
    ec2
      .on(GetImageBlockPublicAccessStateCommand)
      .resolves({ ImageBlockPublicAccessState: 'block-new-sharing', ManagedBy: 'declarative-policy' });

    const report = await preflightRegion(context({ publish: { disableBlockPublicAccess: true } }), 'eu-west-1');

    expect(report.ok).toBe(false);
    expect(report.problems[0]).toContain('declarative policy');
    expect(ec2.commandCalls(DisableImageBlockPublicAccessCommand)).toHaveLength(0);
  });

  test('only reports in a dry run', async () => {
    const report = await preflightRegion(context({ publish: { disableBlockPublicAccess: true } }), 'eu-west-1', {
      dryRun: true,
    });

    expect(report.notes).toContain('image block public access is on and would be turned off');
    expect(ec2.commandCalls(DisableImageBlockPublicAccessCommand)).toHaveLength(0);
  });

  test('reports encryption by default, since an encrypted copy cannot be public', async () => {
    ec2.on(GetImageBlockPublicAccessStateCommand).resolves({ ImageBlockPublicAccessState: 'unblocked' });
    ec2.on(GetEbsEncryptionByDefaultCommand).resolves({ EbsEncryptionByDefault: true });

    const report = await preflightRegion(context(), 'eu-west-1');

    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([expect.stringContaining('EBS encryption by default is on')]);
  });
});

describe('preflight against the public AMI quota', () => {
  beforeEach(() => {
    ec2.on(GetImageBlockPublicAccessStateCommand).resolves({ ImageBlockPublicAccessState: 'unblocked' });
    ec2.on(GetEbsEncryptionByDefaultCommand).resolves({ EbsEncryptionByDefault: false });
    ec2.on(DescribeImagesCommand).resolves({ Images: Array.from({ length: 46 }, (_, i) => ({ ImageId: `ami-${i}` })) });
  });

  test('fails a region that the run would take over its quota, saying what to do', async () => {
    const report = await preflightRegion(context({ publish: { publicImageQuota: 50 } }), 'eu-west-1', { incoming: 8 });

    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      '46 public image(s) plus 8 new would exceed the public AMI quota of 50; raise the quota or prune first',
    ]);
  });

  test('only reports the count when the quota leaves room or is not configured', async () => {
    const roomy = await preflightRegion(context({ publish: { publicImageQuota: 60 } }), 'eu-west-1', { incoming: 8 });
    const unset = await preflightRegion(context(), 'eu-west-1', { incoming: 8 });

    expect(roomy).toMatchObject({ ok: true, publicImages: 46 });
    expect(unset).toMatchObject({ ok: true, publicImages: 46 });
    expect(unset.notes).toContain('46 public image(s) owned in the region');
  });
});

describe('deprecation calls', () => {
  test('set the planned time on the image and collect a refusal as a failure', async () => {
    ec2.on(EnableImageDeprecationCommand, { ImageId: 'ami-00000000000000d1' }).resolves({ Return: true });
    ec2
      .on(EnableImageDeprecationCommand, { ImageId: 'ami-00000000000000d2' })
      .rejects(awsError('InvalidParameterValue'));

    const deprecate = (imageId: string) => ({
      id: imageId,
      actions: [{ kind: 'deprecate' as const, imageId, deprecateAt: '2027-11-20T00:00:00.000Z', reason: 'none set' }],
    });

    const outcome = await applyImages(context(), 'eu-west-1', [
      deprecate('ami-00000000000000d1'),
      deprecate('ami-00000000000000d2'),
    ]);

    const calls = ec2.commandCalls(EnableImageDeprecationCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      { ImageId: 'ami-00000000000000d1', DeprecateAt: new Date('2027-11-20T00:00:00.000Z') },
      { ImageId: 'ami-00000000000000d2', DeprecateAt: new Date('2027-11-20T00:00:00.000Z') },
    ]);
    expect(outcome.get('ami-00000000000000d1')).toEqual({ applied: 1, skipped: [] });
    expect(outcome.get('ami-00000000000000d2')?.failure).toMatchObject({ code: 'InvalidParameterValue' });
  });
});

describe('deregistering a failed copy', () => {
  const copyId = 'ami-00000000000000c1';

  test('deletes one by one the snapshots DeleteAssociatedSnapshots did not report deleted', async () => {
    const ctx = context();
    ec2.on(DeregisterImageCommand).resolves({
      DeleteSnapshotResults: [
        { SnapshotId: 'snap-00000000000000d1', ReturnCode: 'success' },
        { SnapshotId: 'snap-00000000000000d2', ReturnCode: 'client-error' },
      ],
    });
    ec2.on(DeleteSnapshotCommand).resolves({});

    await deregisterCopy(ctx, 'eu-west-1', copyId, [
      'snap-00000000000000d1',
      'snap-00000000000000d2',
      'snap-00000000000000d3',
    ]);

    expect(ec2.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input.SnapshotId)).toEqual([
      'snap-00000000000000d2',
      'snap-00000000000000d3',
    ]);
  });

  test('looks up the snapshots it was not given, and deletes one only DeleteAssociatedSnapshots reported', async () => {
    // Prepare
    const ctx = context();
    ec2.on(DescribeImagesCommand).resolves({
      Images: [
        {
          ImageId: copyId,
          BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { SnapshotId: 'snap-00000000000000d1' } }],
        },
      ],
    });
    ec2.on(DeregisterImageCommand).resolves({
      DeleteSnapshotResults: [{ SnapshotId: 'snap-00000000000000d4', ReturnCode: 'client-error' }],
    });
    ec2.on(DeleteSnapshotCommand).resolves({});

    // Act
    await deregisterCopy(ctx, 'eu-west-1', copyId);

    // Assess
    expect(ec2.commandCalls(DescribeImagesCommand)[0]!.args[0].input).toMatchObject({
      Owners: ['self'],
      Filters: [{ Name: 'image-id', Values: [copyId] }],
    });
    expect(ec2.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input.SnapshotId)).toEqual([
      'snap-00000000000000d1',
      'snap-00000000000000d4',
    ]);
  });

  test('deletes nothing for a result of DeleteAssociatedSnapshots that names no snapshot', async () => {
    // Prepare
    const ctx = context();
    ec2.on(DeregisterImageCommand).resolves({ DeleteSnapshotResults: [{ ReturnCode: 'client-error' }] });
    ec2.on(DeleteSnapshotCommand).resolves({});

    // Act
    await deregisterCopy(ctx, 'eu-west-1', copyId, []);

    // Assess
    expect(ec2.commandCalls(DeleteSnapshotCommand)).toHaveLength(0);
  });

  test('names a snapshot whose error has no code as an error, and keeps the first error as the cause', async () => {
    // Prepare
    const ctx = context();
    const first = new Error('socket hang up');
    ec2.on(DeregisterImageCommand).resolves({});
    ec2
      .on(DeleteSnapshotCommand, { SnapshotId: 'snap-00000000000000d1' })
      .rejects(first)
      .on(DeleteSnapshotCommand, { SnapshotId: 'snap-00000000000000d2' })
      .rejects(awsError('InvalidSnapshot.InUse'));

    // Act
    const error = await deregisterCopy(ctx, 'eu-west-1', copyId, [
      'snap-00000000000000d1',
      'snap-00000000000000d2',
    ]).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({
      message: `copy ${copyId} in eu-west-1 is deregistered but left snapshots snap-00000000000000d1 (error), snap-00000000000000d2 (InvalidSnapshot.InUse)`,
      cause: first,
    });
  });

  test('names every snapshot it could not delete, and counts one already gone as deleted', async () => {
    const ctx = context();
    ec2.on(DeregisterImageCommand).resolves({});
    ec2
      .on(DeleteSnapshotCommand, { SnapshotId: 'snap-00000000000000d1' })
      .rejects(awsError('InvalidSnapshot.NotFound'));
    ec2.on(DeleteSnapshotCommand, { SnapshotId: 'snap-00000000000000d2' }).rejects(awsError('InvalidSnapshot.InUse'));

    const cleanup = deregisterCopy(ctx, 'eu-west-1', copyId, ['snap-00000000000000d1', 'snap-00000000000000d2']);

    await expect(cleanup).rejects.toThrow(CopyCleanupError);
    await expect(cleanup).rejects.toThrow(/left snapshots snap-00000000000000d2 \(InvalidSnapshot.InUse\)$/);
  });
});
