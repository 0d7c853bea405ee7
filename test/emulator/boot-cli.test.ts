import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DynamoBootHistory } from '../../lambdas/aws/boot/history';
import { ClientFactory } from '../../lambdas/aws/clients';
import type { BootHistoryRow } from '../../lambdas/core/boot/result';
import { seedFleet, weeklyFleet } from '../support/fleet';
import { createBootHistoryTable } from '../support/boot-history-table';
import { runCli as runCliInProcess } from '../support/cli';
import { emulatorEndpoint } from '../support/emulator';

/** Runs the CLI in-process against this file's emulator and returns what it printed on stdout. */
const runCli = (...args: string[]) => runCliInProcess(...args, '--endpoint-url', emulatorEndpoint());

const clients = new ClientFactory({ maxAttempts: 1 });
const TABLE = 'cli-boot-history';

function row(seriesKey: string, instanceType: string, buildDate: string, bootSeconds: number): BootHistoryRow {
  return {
    seriesKey,
    instanceType,
    buildDate,
    imageId: `ami-${buildDate.replaceAll('-', '')}`,
    imageName: 'n',
    region: 'us-east-1',
    revision: 'main@a1b2c3d',
    network: 'isolated',
    status: 'passed',
    reason: 'single run',
    runs: 1,
    median: { runInstancesSeconds: 1.2, bootSeconds },
    testedAt: `${buildDate}T09:00:00.000Z`,
    runId: 'weekly',
  };
}

beforeAll(async () => {
  await createBootHistoryTable(clients.client(DynamoDBClient, 'us-east-1'), TABLE);
  const history = new DynamoBootHistory(clients.client(DynamoDBClient, 'us-east-1'), TABLE);
  await history.put(row('15.0-CURRENT/arm64/base/zfs', 'c7g.large', '2026-11-19', 8.2));
  await history.put(row('15.0-CURRENT/arm64/base/zfs', 'c7g.large', '2026-11-26', 25.1));
  await history.put(row('14.3-STABLE/amd64/base/ufs', 'c7i.large', '2026-11-26', 11.2));
});

describe('boot-history command', () => {
  test('lists the rows of a series as JSON', async () => {
    const output = await runCli('boot-history', '--table', TABLE, '--series', '15.0-CURRENT/arm64', '--output', 'json');

    const rows = JSON.parse(output) as BootHistoryRow[];
    expect(rows.map((r) => [r.buildDate, r.median.bootSeconds])).toEqual([
      ['2026-11-19', 8.2],
      ['2026-11-26', 25.1],
    ]);
  });

  test('prints a table with the boot time, revision and network of each build', async () => {
    const output = await runCli('boot-history', '--table', TABLE, '--type', 'c7i.large');

    const lines = output.trim().split('\n');
    expect(lines[0]).toMatch(/^SERIES\s+TYPE\s+BUILD\s+REVISION\s+STATUS\s+BOOT S\s+RUNS\s+NETWORK\s+IMAGE$/);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(
      /^14\.3-STABLE\/amd64\/base\/ufs\s+c7i\.large\s+2026-11-26\s+main@a1b2c3d\s+passed\s+11\.200\s+1\s+isolated/,
    );
  });

  test('asks for the table when neither --table nor the environment names it', async () => {
    await expect(runCli('boot-history')).rejects.toThrow(/name the boot history table with --table/);
  });
});

describe('report command', () => {
  test('writes the boot-performance page of the history table into the folder given', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'boot-report-')), 'site');

    const printed = await runCli('report', '--table', TABLE, '--out', out);

    const html = readFileSync(join(out, 'index.html'), 'utf8');
    expect(printed.trim()).toBe(`wrote ${join(out, 'index.html')}`);
    expect(html.match(/<figure class="chart"/g)).toHaveLength(2);
    expect(html).toContain('<h2>15.0-CURRENT arm64</h2>');
    expect(html).toMatch(/<li>2026-11-26: 15\.0-CURRENT arm64 base\/zfs on c7g\.large: 8\.2 s -&#62; 25\.1 s between/);
  });

  test('asks for the table when neither --table nor the environment names it', async () => {
    await expect(runCli('report', '--out', tmpdir())).rejects.toThrow(/name the boot history table with --table/);
  });
});

describe('boot-test command', () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  test('shows each launch of the run, read back from the run table where the workflow keeps it', async () => {
    const [image] = await seedFleet(
      clients,
      weeklyFleet({
        regions: ['us-east-1'],
        series: ['15.0-CURRENT/amd64/base/zfs'],
        weeks: 1,
        newestBuildDate: '2026-11-26',
      }),
    );
    const args = [
      '--ami',
      image!.imageId,
      '--types',
      'c7i.large',
      '--subnet',
      'subnet-0ab',
      '--security-group',
      'sg-1',
    ];

    const json = JSON.parse(await runCli('boot-test', ...args, '--run-id', 'cli-json', '--output', 'json'));
    const table = await runCli('boot-test', ...args, '--run-id', 'cli-table');

    expect(json.execution).toMatchObject({ status: 'SUCCEEDED', output: { launches: 1, failed: 1 } });
    expect(json.results).toEqual([
      expect.objectContaining({
        imageId: image!.imageId,
        instanceType: 'c7i.large',
        status: 'failed',
        reason: "The security group 'sg-1' does not exist",
      }),
    ]);
    const lines = table.trim().split('\n');
    expect(lines[0]).toMatch(/^IMAGE\s+TYPE\s+RUN\s+STATUS\s+RUNINSTANCES/);
    expect(lines[2]).toMatch(new RegExp(`^${image!.imageId}\\s+c7i\\.large\\s+1\\s+failed\\s`));
    expect(process.exitCode).toBe(1);
  });

  test('refuses to run without a subnet and security group it can reach', async () => {
    await expect(runCli('boot-test', '--ami', 'ami-0123456789abcdef0')).rejects.toThrow(
      /needs --subnet and --security-group/,
    );
  });

  test('rejects an instance type of the wrong architecture before launching anything', async () => {
    const [image] = await seedFleet(
      clients,
      weeklyFleet({
        regions: ['us-east-1'],
        series: ['15.0-CURRENT/amd64/base/ufs'],
        weeks: 1,
        newestBuildDate: '2026-11-26',
      }),
    );

    await expect(
      runCli(
        'boot-test',
        '--ami',
        image!.imageId,
        '--types',
        'c7g.large',
        '--subnet',
        'subnet-1',
        '--security-group',
        'sg-1',
      ),
    ).rejects.toThrow(/is amd64 but c7g.large is arm64/);
    const instances = await clients.client(EC2Client, 'us-east-1').send(new DescribeInstancesCommand({}));
    expect(instances.Reservations ?? []).toEqual([]);
  });
});
