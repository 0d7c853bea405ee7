import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ClientFactory } from '../../lambdas/aws/clients';
import { type FleetImage, seedFleet } from '../support/fleet';
import { emulatorEndpoint } from '../support/emulator';
import { runCli } from '../support/cli';

const REGIONS = 'us-east-1,eu-west-1,us-west-2';
const clients = new ClientFactory({ maxAttempts: 2 });

// Release builds carry no deprecation, and private images need no block-public-access check: the emulator lacks
// both APIs, and the CLI (unlike the adapter tests) talks to it without stand-ins.
const privateRun = [
  '--endpoint-url',
  emulatorEndpoint(),
  '--regions',
  REGIONS,
  '--set',
  'publish.makeAmiPublic=false',
  '--set',
  'publish.makeSnapshotPublic=false',
  '--set',
  'publish.pollIntervalSeconds=0',
];

const releases: FleetImage[] = ['amd64', 'arm64'].map((arch) => ({
  region: 'us-east-1',
  arch: arch as 'amd64' | 'arm64',
  name: `FreeBSD 14.3-RELEASE-${arch} base UFS`,
  description: `FreeBSD/${arch} releng/14.3@1a2b3c4d5e`,
  tags: {},
}));

describe('ami-pipeline publish', () => {
  beforeAll(async () => {
    await seedFleet(clients, releases);
  });

  test('--dry-run prints the plan as JSON and touches nothing', async () => {
    const output = await runCli('publish', '--dry-run', '--output', 'json', ...privateRun);

    const dry = JSON.parse(output) as {
      plan: { regions: { region: string; images: { copy: { action: string }; reason: string }[] }[] };
    };
    expect(dry.plan.regions.map((r) => r.region)).toEqual(['eu-west-1', 'us-east-1', 'us-west-2']);
    const copies = dry.plan.regions.flatMap((r) => r.images).filter((i) => i.copy.action === 'copy');
    expect(copies).toHaveLength(4);
    const europe = await clients.client(EC2Client, 'eu-west-1').send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(europe.Images).toEqual([]);
  });

  test('publishes with the same executors and prints one row per region', async () => {
    const output = await runCli('publish', '--no-boot-test', ...privateRun);

    expect(output).toMatch(/^2 source image\(s\) from us-east-1: publish succeeded/);
    expect(output).toMatch(/REGION\s+STATUS\s+PAIRS\s+PUBLISHED\s+FAILED\s+CHANGES/);
    for (const region of REGIONS.split(',')) {
      expect(output).toMatch(new RegExp(`${region}\\s+published\\s+2\\s+2\\s+0`));
    }
    const europe = await clients.client(EC2Client, 'eu-west-1').send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(europe.Images?.map((i) => i.Name).sort()).toEqual(releases.map((r) => r.name).sort());
  });

  test('--ami re-checks named images: nothing left to plan, and unknown ids are reported', async () => {
    const sources = await clients.client(EC2Client, 'us-east-1').send(new DescribeImagesCommand({ Owners: ['self'] }));
    const ids = sources.Images!.map((i) => i.ImageId!);

    const output = await runCli('publish', '--dry-run', '--ami', ...ids, 'ami-0000000000000dead', ...privateRun);

    expect(output).toContain('2 source image(s) in 3 region(s); 0 copies and 0 changes planned');
    expect(output).toContain('left out ami-0000000000000dead');
  });

  test('a dry run reads the ledger the run wrote and selects its regions the same way: nothing left to take', async () => {
    const output = await runCli('publish', '--dry-run', '--output', 'json', ...privateRun);

    const dry = JSON.parse(output) as { selection: { selected: string[] }; discovery: { sources: unknown[] } };
    expect(dry.selection.selected).toEqual(REGIONS.split(',').sort());
    expect(dry.discovery.sources).toEqual([]);
  });
});
