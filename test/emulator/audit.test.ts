import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotAttributeCommand,
  type Image,
  ModifyImageAttributeCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { ClientFactory, ClientPlugin } from '../../lambdas/aws/clients';
import { DynamoLedger } from '../../lambdas/aws/publish/ledger';
import type { AuditRunSummary, RegionAuditReport } from '../../lambdas/core/audit';
import { TAG, tagRecord } from '../../lambdas/core/tags';
import { STACK_OUTPUTS } from '../../lib/pipeline-stack';
import { type SeededImage, seedFleet, weeklyFleet } from '../support/fleet';
import { resetEmulator } from '../support/emulator';
import { type EmulatorPipeline, emulatorPipeline } from '../support/local-pipeline';
import { DAY_MS } from '../../lambdas/core/time';

const BUILD_REGION = 'us-east-1';
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2'];
/** The configuration before three regions were enabled (the build region among them), and after. */
const before = {
  buildRegion: BUILD_REGION,
  regions: { allow: ['us-west-2', 'eu-west-1'] },
  publish: { pollIntervalSeconds: 0 },
  bootTest: { enabled: false },
};
const after = { ...before, regions: { allow: REGIONS } };
const PREFIX = '/ami-pipeline/freebsd';
const NEWEST = new Date(Date.now() - 2 * DAY_MS).toISOString().slice(0, 10);

interface AuditOutput {
  readonly summary?: { readonly summary: AuditRunSummary };
  readonly outcomes: RegionAuditReport[];
}

/**
 * Snapshots whose public permission was taken away: moto only adds `createVolumePermission` for `all`, never removes
 * it, so DescribeSnapshotAttribute answers as EC2 would for these until the permission is added again.
 */
function removedSnapshotPermissions(hidden: Set<string>): ClientPlugin {
  return (stack, info) => {
    if (info.service !== 'ec2') return;
    stack.add(
      (next, context) => async (args) => {
        const { SnapshotId } = args.input as { SnapshotId?: string };
        if (context.commandName === 'DescribeSnapshotAttributeCommand' && SnapshotId && hidden.has(SnapshotId))
          return { output: { $metadata: {}, SnapshotId, CreateVolumePermissions: [] }, response: {} } as never;
        const result = await next(args);
        if (context.commandName === 'ModifySnapshotAttributeCommand' && SnapshotId) hidden.delete(SnapshotId);
        return result;
      },
      { step: 'initialize', name: 'removedSnapshotPermissions' },
    );
  };
}

async function ownImages(clients: ClientFactory, region: string): Promise<Image[]> {
  return (await clients.client(EC2Client, region).send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
}

async function imageNamed(clients: ClientFactory, region: string, name: string): Promise<Image> {
  const image = (await ownImages(clients, region)).find((i) => i.Name === name);
  if (!image) throw new Error(`no image ${name} in ${region}`);
  return image;
}

async function parameters(clients: ClientFactory, region: string): Promise<Record<string, string>> {
  const answer = await clients
    .client(SSMClient, region)
    .send(new GetParametersByPathCommand({ Path: PREFIX, Recursive: true }));
  return Object.fromEntries((answer.Parameters ?? []).map((p) => [p.Name!, p.Value!]));
}

async function audit(world: EmulatorPipeline, repair: boolean): Promise<AuditOutput & { status: string }> {
  const report = await world.pipeline.audit({ repair, pollSeconds: 0 }).done;
  return { ...(report.output as AuditOutput), status: report.status };
}

/** Kinds found per region, sorted, from the regions' reports (every finding of this small fleet is listed). */
function kindsByRegion(output: AuditOutput): Record<string, string[]> {
  return Object.fromEntries(
    output.outcomes.map((r) => [r.region, r.findings.map((f) => `${f.kind} ${f.name}`).sort()]),
  );
}

describe('audit and repair of a fleet with every kind of drift', () => {
  const hidden = new Set<string>();
  let world: EmulatorPipeline;
  let clients: ClientFactory;
  let current: { x: SeededImage; y: SeededImage; release: SeededImage };
  let olderX: SeededImage;
  let found: AuditOutput & { status: string };
  let repaired: AuditOutput & { status: string };
  let again: AuditOutput & { status: string };
  let publicAfterReport: boolean | undefined;

  beforeAll(async () => {
    await resetEmulator();
    const published = await emulatorPipeline(before);
    ({ clients } = published);
    const [x, xOld, y, release] = await seedFleet(clients, [
      ...weeklyFleet({
        regions: [BUILD_REGION],
        series: ['15.0-CURRENT/amd64/base/ufs'],
        weeks: 2,
        newestBuildDate: NEWEST,
      }),
      ...weeklyFleet({
        regions: [BUILD_REGION],
        series: ['14.3-STABLE/arm64/small/ufs'],
        weeks: 1,
        newestBuildDate: NEWEST,
      }),
      {
        region: BUILD_REGION,
        arch: 'amd64',
        name: 'FreeBSD 14.3-RELEASE-amd64 base UFS',
        description: 'FreeBSD/amd64 releng/14.3@1a2b3c4d5e',
        tags: { 'ami-pipeline:managed-by': 'ami-pipeline' },
      },
    ]);
    current = { x: x!, y: y!, release: release! };
    olderX = xOld!;
    expect((await published.pipeline.publish({ pollSeconds: 0 }).done).status).toBe('SUCCEEDED');

    // Drift after publication: a copy made private, a snapshot's permission removed, a copy deregistered, an SSM
    // parameter moved back to the older build, tags removed; three regions enabled in the configuration.
    const xInEurope = await imageNamed(clients, 'eu-west-1', current.x.name);
    await clients.client(EC2Client, 'eu-west-1').send(
      new ModifyImageAttributeCommand({
        ImageId: xInEurope.ImageId,
        LaunchPermission: { Remove: [{ Group: 'all' }] },
      }),
    );
    const releaseInOregon = await imageNamed(clients, 'us-west-2', current.release.name);
    hidden.add(releaseInOregon.BlockDeviceMappings![0]!.Ebs!.SnapshotId!);
    const yInOregon = await imageNamed(clients, 'us-west-2', current.y.name);
    await clients.client(EC2Client, 'us-west-2').send(new DeregisterImageCommand({ ImageId: yInOregon.ImageId }));
    const olderInOregon = await imageNamed(clients, 'us-west-2', olderX.name);
    await clients.client(SSMClient, 'us-west-2').send(
      new PutParameterCommand({
        Name: `${PREFIX}/amd64/base/ufs/15.0/CURRENT`,
        Value: olderInOregon.ImageId,
        Type: 'String',
        DataType: 'aws:ec2:image',
        Overwrite: true,
      }),
    );
    const yInEurope = await imageNamed(clients, 'eu-west-1', current.y.name);
    await clients
      .client(EC2Client, 'eu-west-1')
      .send(
        new DeleteTagsCommand({ Resources: [yInEurope.ImageId!], Tags: [{ Key: TAG.series }, { Key: TAG.buildDate }] }),
      );

    world = await emulatorPipeline(after, { gaps: published.gaps, plugins: [removedSnapshotPermissions(hidden)] });
    found = await audit(world, false);
    publicAfterReport = (await imageNamed(clients, 'eu-west-1', current.x.name)).Public;
    repaired = await audit(world, true);
    again = await audit(world, false);
  });

  test('finds each drift in its region, and changes nothing without repair', () => {
    const kinds = kindsByRegion(found);
    const { x, y, release } = current;

    expect(found.status).toBe('SUCCEEDED');
    expect(kinds['eu-west-1']).toEqual([`missing-tags ${y.name}`, `private-image ${x.name}`].sort());
    expect(kinds['us-west-2']).toEqual(
      [`missing-copy ${y.name}`, `private-snapshot ${release.name}`, `stale-parameter ${x.name}`].sort(),
    );
    for (const region of ['eu-central-1', 'ap-southeast-2'])
      expect(kinds[region]).toEqual([x, y, release].map((b) => `missing-copy ${b.name}`).sort());
    expect(found.summary!.summary).toMatchObject({ repair: false, builds: 3, regions: 5, repaired: 0 });
    expect(found.outcomes.flatMap((r) => r.findings).every((f) => f.outcome === 'not-asked')).toBe(true);
    expect(publicAfterReport).toBe(false);
  });

  test('finds what the build region lacks once it is enabled: the sources are neither public nor in SSM', () => {
    const kinds = new Set(found.outcomes.find((r) => r.region === BUILD_REGION)!.findings.map((f) => f.kind));

    expect(kinds).toEqual(
      new Set(['private-image', 'private-snapshot', 'missing-tags', 'missing-deprecation', 'missing-parameter']),
    );
  });

  test('never audits the older build of a line', () => {
    const names = found.outcomes.flatMap((r) => r.findings.map((f) => f.name));

    expect(names).not.toContain(olderX.name);
  });

  test('repairs every finding, region by region', () => {
    expect(repaired.status).toBe('SUCCEEDED');
    expect(repaired.summary!.summary).toMatchObject({ repair: true, unrepaired: 0, failedCount: 0 });
    expect(repaired.summary!.summary.repaired).toBe(found.summary!.summary.found);
  });

  test('copies the current builds into the regions enabled later, public, tagged and in SSM', async () => {
    for (const region of ['eu-central-1', 'ap-southeast-2']) {
      const images = await ownImages(clients, region);
      const values = await parameters(clients, region);
      expect(images.map((i) => i.Name).sort()).toEqual(
        Object.values(current)
          .map((b) => b.name)
          .sort(),
      );
      for (const image of images) {
        expect(image.Public).toBe(true);
        expect(tagRecord(image.Tags)).toMatchObject({
          'ami-pipeline:managed-by': 'ami-pipeline',
          [TAG.sourceRegion]: BUILD_REGION,
        });
        expect(Object.values(values)).toContain(image.ImageId);
      }
    }
  });

  test('puts back the permission, the snapshot permission, the copy, the tags and the parameter', async () => {
    const { x, y, release } = current;
    const xInEurope = await imageNamed(clients, 'eu-west-1', x.name);
    const yInEurope = await imageNamed(clients, 'eu-west-1', y.name);
    const xInOregon = await imageNamed(clients, 'us-west-2', x.name);
    const yInOregon = await imageNamed(clients, 'us-west-2', y.name);
    const releaseInOregon = await imageNamed(clients, 'us-west-2', release.name);
    const snapshot = await clients.client(EC2Client, 'us-west-2').send(
      new DescribeSnapshotAttributeCommand({
        SnapshotId: releaseInOregon.BlockDeviceMappings![0]!.Ebs!.SnapshotId!,
        Attribute: 'createVolumePermission',
      }),
    );
    const values = await parameters(clients, 'us-west-2');

    expect(xInEurope.Public).toBe(true);
    expect(tagRecord(yInEurope.Tags)).toMatchObject({
      [TAG.series]: '14.3-STABLE/arm64/small/ufs',
      [TAG.buildDate]: NEWEST,
    });
    expect(hidden.size).toBe(0);
    expect(snapshot.CreateVolumePermissions).toEqual([{ Group: 'all' }]);
    expect(yInOregon.Public).toBe(true);
    expect(values[`${PREFIX}/amd64/base/ufs/15.0/CURRENT`]).toBe(xInOregon.ImageId);
    expect(values[`${PREFIX}/arm64/small/ufs/14.3/STABLE`]).toBe(yInOregon.ImageId);
  });

  test('records the pairs it brought in order as published in the publish ledger', async () => {
    const ledger = new DynamoLedger(
      clients.client(DynamoDBClient, BUILD_REGION),
      world.pipeline.output(STACK_OUTPUTS.publishLedgerTable),
    );
    const rows = await ledger.inRegion(
      'ap-southeast-2',
      Object.values(current).map((b) => b.imageId),
    );
    const copies = await ownImages(clients, 'ap-southeast-2');

    for (const build of Object.values(current)) {
      const row = rows.get(build.imageId);
      expect(row?.status).toBe('published');
      expect(row?.imageId).toBe(copies.find((c) => c.Name === build.name)!.ImageId);
    }
  });

  test('a second audit finds nothing', () => {
    expect(again.status).toBe('SUCCEEDED');
    expect(again.summary!.summary).toMatchObject({ found: 0, unrepaired: 0 });
    expect(again.outcomes.every((r) => r.status === 'clean')).toBe(true);
  });

  test('the weekly digest reports the audits: what was found and what was repaired', async () => {
    const digest = (await world.pipeline.digest(new Date(Date.now() + 60_000))) as { text: string };

    expect(digest.text).toContain('Audit');
    expect(digest.text).toMatch(/3 current builds checked in 5 regions: 0 findings, 0 repaired, 0 left\./);
    expect(digest.text).toContain('3 audit runs this week; the newest is reported.');
  });
});
