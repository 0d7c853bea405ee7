import {
  CopyImageCommand,
  CreateTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  EnableImageDeprecationCommand,
  GetEbsEncryptionByDefaultCommand,
  GetImageBlockPublicAccessStateCommand,
  GetSnapshotBlockPublicAccessStateCommand,
  type Image,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
} from '@aws-sdk/client-ec2';
import { GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { ClientFactory } from '../../lambdas/aws/clients';
import { describeAllImages } from '../../lambdas/aws/publish/context';
import { deregisterCopy } from '../../lambdas/aws/publish/copy';
import { discoverSources } from '../../lambdas/aws/publish/discover';
import { MemoryLedger } from '../../lambdas/aws/publish/ledger';
import { preflightRegion } from '../../lambdas/aws/publish/preflight';
import {
  announceStep,
  discoverStep,
  type FinalizeResult,
  finalizeRegion,
  pollRegion,
  prepareRegion,
  publishContext,
  type RegionProgress,
  verifyParameters,
} from '../../lambdas/aws/publish/service';
import { unlimited } from '../../lambdas/aws/rate-limiter';
import { type PipelineConfigInput, parseConfig } from '../../lambdas/core/config';
import { regionPollBudget } from '../../lambdas/core/publish';

// The publish steps with EC2 and SSM answered by mocks and the ledger in memory: each defect of the first release
// shown by the smallest run of the step that had it.
const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);
const T0 = Date.parse('2026-11-21T06:00:00Z');
const MINUTE = 60_000;
const NAMES = ['FreeBSD 15.0-CURRENT-amd64-20261120 base UFS', 'FreeBSD 15.0-CURRENT-amd64-20261120 base ZFS'];
const SOURCES = ['ami-0000000000000aaa1', 'ami-0000000000000aaa2'];
const COPY = 'ami-00000000000c0py1';
const PARAMETER = '/ami-pipeline/freebsd/amd64/base/ufs/15.0/CURRENT';
let now = T0;
let ledger = new MemoryLedger();

function context(config: PipelineConfigInput = {}) {
  return publishContext({
    config: parseConfig({ regions: { allow: ['us-east-1', 'eu-west-1'] }, ...config }),
    clients: new ClientFactory({ maxAttempts: 1 }),
    limiter: unlimited,
    now: () => new Date(now),
    ledger,
  });
}
const awsError = (name: string) => Object.assign(new Error(name), { name, $metadata: {} });
const sourceImages: Image[] = SOURCES.map((id, i) => ({
  ImageId: id,
  Name: NAMES[i],
  State: 'available',
  Architecture: 'x86_64',
  Description: 'FreeBSD/amd64 main@abc1234',
  CreationDate: new Date(T0 - 6 * 3_600_000).toISOString(),
  BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { SnapshotId: `snap-000000000000aaa${i + 1}` } }],
}));

/** DescribeImages as EC2 answers it: the sources by id, copies by id from `states`, nothing by name. */
function describeWith(states: Record<string, string>) {
  ec2.on(DescribeImagesCommand).callsFake(async (input) => {
    const filter = input.Filters?.[0];
    const wanted: string[] = filter?.Values ?? [];
    if (filter?.Name === 'image-id' && wanted.some((id) => SOURCES.includes(id)))
      return { Images: sourceImages.filter((s) => wanted.includes(s.ImageId!)) };
    if (filter?.Name === 'image-id') return { Images: wanted.map((id) => ({ ImageId: id, State: states[id] })) };
    return { Images: [] };
  });
}

beforeEach(() => {
  ec2.reset();
  ssm.reset();
  now = T0;
  ledger = new MemoryLedger();
  ec2.on(GetImageBlockPublicAccessStateCommand).resolves({ ImageBlockPublicAccessState: 'unblocked' });
  ec2.on(GetSnapshotBlockPublicAccessStateCommand).resolves({ State: 'unblocked' });
  ec2.on(GetEbsEncryptionByDefaultCommand).resolves({ EbsEncryptionByDefault: false });
});

describe('copy deadlines', () => {
  const config = { publish: { copyConcurrency: 1, copyTimeoutMinutes: 60, pollIntervalSeconds: 60 } };
  const states: Record<string, string> = {};
  let copies = 0;
  beforeEach(() => {
    copies = 0;
    ec2.on(CopyImageCommand).callsFake(async () => {
      const id = `ami-00000000000c0py${++copies}`;
      states[id] = 'pending';
      return { ImageId: id };
    });
    describeWith(states);
  });

  async function run(): Promise<RegionProgress[]> {
    const ctx = context(config);
    const prepared = await prepareRegion(ctx, {
      region: 'eu-west-1',
      images: SOURCES,
      pollSeconds: 60,
      runId: 'run-1',
    });
    now = T0 + 50 * MINUTE;
    states['ami-00000000000c0py1'] = 'available';
    const second = await pollRegion(ctx, prepared);
    now = T0 + 70 * MINUTE;
    const third = await pollRegion(ctx, second);
    now = T0 + 111 * MINUTE;
    const fourth = await pollRegion(ctx, third);
    return [prepared, second, third, fourth];
  }

  test('count from each copy’s own start: a copy started 50 minutes in is not timed out 20 minutes later', async () => {
    const [, , third, fourth] = await run();

    expect(third!.copies.find((c) => c.source === SOURCES[1])).toMatchObject({
      state: 'copying',
      startedAt: new Date(T0 + 50 * MINUTE).toISOString(),
    });
    expect(fourth!.copies.find((c) => c.source === SOURCES[1])).toMatchObject({
      state: 'failed',
      error: 'copy ami-00000000000c0py2 not available 60 min after it started',
    });
  });

  test('the first look comes at once; the interval starts again from the configured one when copies start, and doubles otherwise', async () => {
    const [prepared, second, third] = await run();

    expect([prepared!.waitSeconds, second!.waitSeconds, third!.waitSeconds]).toEqual([0, 60, 120]);
    expect(third!.polls).toBe(2);
  });
});

describe('a region out of polls', () => {
  test('reports its copies still in flight instead of polling past its share of the history', async () => {
    describeWith({ [COPY]: 'pending' });
    const pending: RegionProgress = {
      region: 'eu-west-1',
      runId: 'run-1',
      images: [SOURCES[0]!],
      pollSeconds: 60,
      waitSeconds: 600,
      polls: regionPollBudget() - 1,
      endsAt: new Date(T0 + 600 * MINUTE).toISOString(),
      pending: true,
      copies: [
        {
          source: SOURCES[0]!,
          name: NAMES[0]!,
          imageId: COPY,
          attempt: 1,
          state: 'copying',
          startedAt: new Date(T0).toISOString(),
        },
      ],
    };

    const next = await pollRegion(context(), pending);

    expect(next.pending).toBe(false);
    expect(next.copies[0]).toMatchObject({
      state: 'failed',
      error: `copy ${COPY} not available after ${regionPollBudget()} polls, the region's share of the history`,
    });
  });
});

describe('client tokens', () => {
  test('change from one run to the next and stay the same within a run', async () => {
    ec2.on(CopyImageCommand).resolves({ ImageId: COPY });
    describeWith({});
    const prepare = (runId: string) =>
      prepareRegion(context(), { region: 'eu-west-1', images: [SOURCES[0]!], pollSeconds: 0, runId });

    await prepare('run-1');
    await prepare('run-1');
    await prepare('run-2');

    const tokens = ec2.commandCalls(CopyImageCommand).map((c) => c.args[0].input.ClientToken);
    expect(tokens[0]).toBe(tokens[1]);
    expect(tokens[2]).not.toBe(tokens[0]);
  });
});

describe('deregistered copies', () => {
  test('are copied afresh without a second deregistration', async () => {
    ec2.on(CopyImageCommand).resolves({ ImageId: COPY });
    ec2.on(DeregisterImageCommand).rejects(awsError('InvalidAMIID.Unavailable'));
    ec2.on(DescribeImagesCommand).callsFake(async (input) => {
      const filter = input.Filters?.[0];
      if (filter?.Name === 'name')
        return { Images: [{ ImageId: 'ami-0000000000000dead', Name: NAMES[0], State: 'deregistered' }] };
      return { Images: [sourceImages[0]] };
    });

    const progress = await prepareRegion(context(), {
      region: 'eu-west-1',
      images: [SOURCES[0]!],
      pollSeconds: 0,
      runId: 'run-1',
    });

    expect(ec2.commandCalls(DeregisterImageCommand)).toHaveLength(0);
    expect(progress.copies).toEqual([expect.objectContaining({ imageId: COPY, state: 'copying' })]);
  });

  test('InvalidAMIID.Unavailable on deregistration is success, like NotFound; other errors are not', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    ec2.on(DeregisterImageCommand, { ImageId: 'ami-0000000000000dea1' }).rejects(awsError('InvalidAMIID.Unavailable'));
    ec2.on(DeregisterImageCommand, { ImageId: 'ami-0000000000000dea2' }).rejects(awsError('InvalidAMIID.NotFound'));
    ec2.on(DeregisterImageCommand, { ImageId: 'ami-0000000000000dea3' }).rejects(awsError('UnauthorizedOperation'));

    await expect(deregisterCopy(context(), 'eu-west-1', 'ami-0000000000000dea1')).resolves.toBeUndefined();
    await expect(deregisterCopy(context(), 'eu-west-1', 'ami-0000000000000dea2')).resolves.toBeUndefined();
    await expect(deregisterCopy(context(), 'eu-west-1', 'ami-0000000000000dea3')).rejects.toThrow(
      'UnauthorizedOperation',
    );
  });
});

/** A region holding an available, private copy of the first source, with a private snapshot. */
function finalizeWorld(options: { snapshotPublic?: boolean } = {}) {
  ec2.on(DescribeImagesCommand).callsFake(async (input) => {
    const filter = input.Filters?.[0];
    if (filter?.Name === 'image-id' && filter.Values?.includes(SOURCES[0]!)) return { Images: [sourceImages[0]] };
    if (filter?.Name === 'name') {
      return {
        Images: [
          {
            ImageId: COPY,
            Name: NAMES[0],
            State: 'available',
            Public: false,
            BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { SnapshotId: 'snap-00000000000c0py1' } }],
          },
        ],
      };
    }
    return { Images: [] };
  });
  ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-00000000000c0py1', Tags: [] }] });
  ec2
    .on(DescribeSnapshotAttributeCommand)
    .resolves({ CreateVolumePermissions: options.snapshotPublic ? [{ Group: 'all' }] : [] });
  ec2.on(CreateTagsCommand).resolves({});
  ec2.on(ModifyImageAttributeCommand).resolves({});
  ec2.on(ModifySnapshotAttributeCommand).resolves({});
  ec2.on(EnableImageDeprecationCommand).resolves({ Return: true });
  ssm.on(GetParametersCommand).resolves({ Parameters: [] });
  ssm.on(PutParameterCommand).resolves({ Version: 1 });
}

const available: RegionProgress = {
  region: 'eu-west-1',
  runId: 'run-1',
  images: [SOURCES[0]!],
  pollSeconds: 0,
  waitSeconds: 0,
  polls: 1,
  endsAt: '2026-11-21T15:00:00.000Z',
  pending: false,
  copies: [{ source: SOURCES[0]!, name: NAMES[0]!, imageId: COPY, attempt: 1, state: 'available' }],
};

async function pairStatus(): Promise<{ status?: string; error?: string }> {
  const row = (await ledger.inRegion('eu-west-1', [SOURCES[0]!])).get(SOURCES[0]!);
  return { status: row?.status, error: row?.error };
}

describe('each image’s changes in order', () => {
  test('a launch permission that fails leaves the snapshot, the deprecation and the SSM parameter alone', async () => {
    finalizeWorld();
    ec2.on(ModifyImageAttributeCommand).rejects(awsError('UnauthorizedOperation'));

    const result = await finalizeRegion(context(), available);

    expect(ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input.Name)).toEqual([]);
    expect(ec2.commandCalls(EnableImageDeprecationCommand).map((c) => c.args[0].input.ImageId)).toEqual([]);
    expect(ec2.commandCalls(ModifySnapshotAttributeCommand)).toHaveLength(0);
    expect(ec2.commandCalls(CreateTagsCommand)).toHaveLength(1);
    expect(result.summary).toMatchObject({ status: 'failed', failed: 1 });
    expect(result.verify).toBeUndefined();
    expect(await pairStatus()).toEqual({
      status: 'failed',
      error: `launch-permission of ${COPY} failed: UnauthorizedOperation; not done: snapshot-permission, deprecate, ssm`,
    });
  });

  test('a region whose every change succeeds writes SSM last and leaves the pair to be verified', async () => {
    finalizeWorld();

    const result = await finalizeRegion(context(), available);

    const order = [
      ec2.commandCalls(CreateTagsCommand),
      ec2.commandCalls(ModifyImageAttributeCommand),
      ec2.commandCalls(ModifySnapshotAttributeCommand),
      ec2.commandCalls(EnableImageDeprecationCommand),
      ssm.commandCalls(PutParameterCommand),
    ].map((calls) => (calls[0] as unknown as { callId: number }).callId);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(result.verify?.parameters).toEqual([
      { parameter: PARAMETER, imageId: COPY, source: SOURCES[0], name: NAMES[0] },
    ]);
    expect((await pairStatus()).status).toBe('verifying');
  });
});

describe('snapshot block public access', () => {
  test('under block-new-sharing no snapshot is made public; the image is public and the pair says why it is not done', async () => {
    finalizeWorld();
    ec2.on(GetSnapshotBlockPublicAccessStateCommand).resolves({ State: 'block-new-sharing' });

    const result = await finalizeRegion(context(), available);

    expect(ec2.commandCalls(ModifySnapshotAttributeCommand).map((c) => c.args[0].input.SnapshotId)).toEqual([]);
    expect(ec2.commandCalls(ModifyImageAttributeCommand)).toHaveLength(1);
    expect(result.summary).toMatchObject({ status: 'failed', failed: 1 });
    expect((await pairStatus()).error).toBe(
      'snapshot block public access is block-new-sharing: the snapshot cannot be made public',
    );
  });

  test('under block-all-sharing a snapshot whose attribute says all is never reported public', async () => {
    finalizeWorld({ snapshotPublic: true });
    ec2.on(GetSnapshotBlockPublicAccessStateCommand).resolves({ State: 'block-all-sharing' });

    const result = await finalizeRegion(context(), available);

    expect(result.summary.status).toBe('failed');
    expect((await pairStatus()).error).toContain('block-all-sharing');
  });

  test('is a preflight finding, not a reason to fail the region', async () => {
    ec2.on(GetSnapshotBlockPublicAccessStateCommand).resolves({ State: 'block-new-sharing' });
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });

    const report = await preflightRegion(context(), 'eu-west-1');

    expect(report).toMatchObject({ ok: true, snapshotSharing: 'block-new-sharing' });
    expect(report.notes).toContainEqual(expect.stringContaining('snapshot block public access is block-new-sharing'));
  });
});

describe('aws:ec2:image parameters read back', () => {
  const written: FinalizeResult = {
    region: 'eu-west-1',
    summary: { region: 'eu-west-1', status: 'published', pairs: 1, published: 1, failed: 0, changes: 5 },
    verify: {
      runId: 'run-1',
      waitSeconds: 0,
      parameters: [{ parameter: PARAMETER, imageId: COPY, source: SOURCES[0]!, name: NAMES[0]! }],
    },
  };

  test('a parameter that points at its image publishes the pair', async () => {
    ssm.on(GetParametersCommand).resolves({ Parameters: [{ Name: PARAMETER, Value: COPY }] });

    const summary = await verifyParameters(context(), written);

    expect(summary).toMatchObject({ status: 'published', published: 1, failed: 0 });
    expect((await pairStatus()).status).toBe('published');
  });

  test('a write that did not take (SSM still has the old value) fails the pair, saying so', async () => {
    ssm.on(GetParametersCommand).resolves({ Parameters: [{ Name: PARAMETER, Value: 'ami-0000000000000old1' }] });

    const summary = await verifyParameters(context(), written);

    expect(summary).toMatchObject({ status: 'failed', published: 0, failed: 1 });
    expect(await pairStatus()).toEqual({
      status: 'failed',
      error: `SSM parameter ${PARAMETER} points at ami-0000000000000old1: the write of ${COPY} did not take`,
    });
  });
});

describe('discovery', () => {
  test('asks for pages wherever DescribeImages allows it, and follows them', async () => {
    ec2
      .on(DescribeImagesCommand)
      .callsFake(async (input) =>
        input.NextToken ? { Images: [sourceImages[1]] } : { Images: [sourceImages[0]], NextToken: 'page-2' },
      );

    const found = await discoverSources(context());
    await describeAllImages(context(), 'eu-west-1', { ImageIds: [SOURCES[0]!] });

    const requests = ec2.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input);
    expect(found.sources.map((s) => s.imageId)).toEqual(SOURCES);
    expect(requests.slice(0, 2).map((r) => [r.MaxResults, r.NextToken])).toEqual([
      [1000, undefined],
      [1000, 'page-2'],
    ]);
    // AWS refuses MaxResults together with ImageIds.
    expect(requests.at(-1)!.MaxResults).toBeUndefined();
  });

  test('takes a new source, records its pairs, and leaves it alone once every region has it', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [sourceImages[0]!] });
    const regions = ['us-east-1', 'eu-west-1'];

    const first = await discoverStep(context(), { regions, runId: 'run-1' });
    await ledger.record(
      regions.map((region) => ({
        source: SOURCES[0]!,
        region,
        status: 'published' as const,
        sourceName: NAMES[0]!,
        runId: 'run-1',
        at: new Date(now),
      })),
    );
    const second = await discoverStep(context(), { regions, runId: 'run-2' });

    expect(first).toMatchObject({ images: [SOURCES[0]], fresh: [SOURCES[0]], count: 1, recheck: false });
    expect(second).toMatchObject({ images: [], count: 0, complete: 1 });
  });
});

describe('the announcement', () => {
  test('reads the run’s pairs from the ledger and records a region that failed outright against each of them', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [sourceImages[0]!] });
    await ledger.record([
      {
        source: SOURCES[0]!,
        region: 'us-east-1',
        status: 'published',
        sourceName: NAMES[0]!,
        imageId: SOURCES[0]!,
        runId: 'run-1',
        at: new Date(now),
      },
    ]);

    const summary = await announceStep(context(), {
      runId: 'run-1',
      regions: ['us-east-1', 'eu-west-1'],
      images: [SOURCES[0]!],
      outcomes: [
        { region: 'us-east-1', status: 'published', pairs: 1, published: 1, failed: 0, changes: 5 },
        { region: 'eu-west-1', status: 'failed', error: 'Task timed out after 300.00 seconds' },
      ],
    });

    expect(summary).toMatchObject({
      published: [{ name: NAMES[0], regions: 1, of: 2 }],
      pairsPublished: 1,
      failedPairs: 1,
      failedRegions: ['eu-west-1'],
      failures: [{ id: NAMES[0], region: 'eu-west-1', error: 'Task timed out after 300.00 seconds' }],
      failedCount: 1,
    });
    expect(await pairStatus()).toEqual({ status: 'failed', error: 'Task timed out after 300.00 seconds' });
  });
});
