import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runCli, runCliWith } from '../support/cli';
import { emulatorEndpoint } from '../support/emulator';

/** An endpoint nothing listens on: a command that reached AWS would fail to connect. */
const NOWHERE = 'http://127.0.0.1:9';

describe('operator CLI', () => {
  test('lists the selected regions as JSON, honouring --regions', async () => {
    const output = await runCli(
      'regions',
      '--output',
      'json',
      '--endpoint-url',
      emulatorEndpoint(),
      '--regions',
      'us-east-1,eu-west-1,ap-east-1',
    );

    const rows = JSON.parse(output) as { region: string; selected: boolean }[];
    expect(rows.map((r) => r.region)).toEqual(['eu-west-1', 'us-east-1']);
  });

  test('shows left-out regions with their reason in a table', async () => {
    const output = await runCli('regions', '--all', '--endpoint-url', emulatorEndpoint());

    expect(output.split('\n')[0]).toMatch(/^REGION\s+SELECTED\s+REASON$/);
    expect(output).toMatch(/us-gov-west-1\s+no\s+partition aws-us-gov is not the commercial partition/);
    expect(output).toMatch(/us-east-1\s+yes\s+enabled in the account/);
  });

  test('applies --set overrides', async () => {
    const printed = await runCli('--set', 'retention.keepNewest=7', 'config', '--set', 'safety.dryRun=false');

    expect(JSON.parse(printed).retention.keepNewest).toBe(7);
    expect(JSON.parse(printed).safety.dryRun).toBe(false);
  });
});

describe('errors name their real source', () => {
  const folder = mkdtempSync(join(tmpdir(), 'cli-config-'));
  const file = join(folder, 'freebsd.json');
  writeFileSync(file, JSON.stringify({ retention: { minAgeDays: -3 } }));
  const project = mkdtempSync(join(tmpdir(), 'cli-project-'));
  writeFileSync(
    join(project, 'cdk.json'),
    JSON.stringify({ app: 'npx tsx bin/app.ts', context: { 'ami-pipeline': { safety: { maxDeleteShare: 2 } } } }),
  );

  test('a bad --set value names --set and the pair as given', async () => {
    await expect(runCli('config', '--set', 'retention.keepNewest=-1')).rejects.toThrow(
      'retention.keepNewest: keep at least the newest build of each series (got -1; from --set retention.keepNewest=-1)',
    );
  });

  test('a bad value in the --config file names the file', async () => {
    await expect(runCli('config', '--config', file)).rejects.toThrow(
      `retention.minAgeDays: retention.minAgeDays cannot be negative (got -3; from --config ${file})`,
    );
  });

  test('a bad value in cdk.json context names the context', async () => {
    await expect(runCliWith({ cwd: project }, 'config')).rejects.toThrow(
      'safety.maxDeleteShare: a share is between 0 and 1 (got 2; from cdk.json context "ami-pipeline")',
    );
  });

  test('a bad --region names --region', async () => {
    await expect(runCli('config', '--region', 'us-gov-west-1')).rejects.toThrow(
      'buildRegion: us-gov-west-1 is in partition aws-us-gov; the pipeline works in the commercial partition (aws) only (got "us-gov-west-1"; from --region us-gov-west-1)',
    );
  });

  test('--regions with a name that is not a region name fails before any AWS call', async () => {
    await expect(runCli('regions', '--regions', 'us-east-1,mars-1', '--endpoint-url', NOWHERE)).rejects.toThrow(
      '--regions: "mars-1" is not a region name; a region name looks like us-east-1 or ap-southeast-2',
    );
  });
});

describe('regions AWS opens later', () => {
  test('can be allowed before the account reports them: a warning, not a failure', async () => {
    const { stdout, stderr } = await runCliWith(
      {},
      'regions',
      '--all',
      '--output',
      'json',
      '--endpoint-url',
      emulatorEndpoint(),
      '--set',
      'regions.allow=["us-east-1","ap-future-1"]',
    );

    const rows = JSON.parse(stdout) as { region: string; selected: boolean; reason: string }[];
    expect(rows.filter((r) => r.selected).map((r) => r.region)).toEqual(['us-east-1']);
    expect(rows).toContainEqual({
      region: 'ap-future-1',
      selected: false,
      reason: 'listed in regions.allow but not enabled in the account',
    });
    expect(stderr).toContain(
      'warning: regions.allow lists ap-future-1, which the account does not report (not open yet, not enabled, or misspelt)',
    );
  });
});

describe('Node.js versions', () => {
  const cli = join(__dirname, '..', '..', 'bin', 'ami-pipeline.cjs');
  /** The CLI as a user starts it, in its own process, without the SDK's switch in the environment. */
  const start = (...args: string[]) => {
    const env = { ...process.env };
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    return promisify(execFile)(process.execPath, [cli, ...args], { env });
  };

  test('a command that calls AWS prints its result and not the SDK’s Node.js version warning', async () => {
    const { stdout, stderr } = await start('regions', '--regions', 'us-east-1', '--endpoint-url', emulatorEndpoint());

    expect(stdout).toMatch(/us-east-1\s+yes/);
    expect(stderr).not.toContain('NodeVersionSupportWarning');
  });

  test('--version and --help say once which Node.js versions the CLI runs on', async () => {
    const version = await start('--version');
    const help = await start('--help');

    expect(version.stdout).toContain(
      `(Node.js ${process.versions.node}). The CLI runs on Node.js 20 and 22; the Lambdas run on Node.js 22.`,
    );
    expect(help.stdout).toContain('The CLI runs on Node.js 20 and 22; the Lambdas run on Node.js 22.');
  });
});
