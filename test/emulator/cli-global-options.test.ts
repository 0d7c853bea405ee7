import { buildProgram } from '../../bin/ami-pipeline';
import { createContext, type GlobalOptions } from '../../bin/cli/context';
import { type FleetImage, seedFleet } from '../support/fleet';
import { ClientFactory } from '../../lambdas/aws/clients';
import { runCliWith } from '../support/cli';
import { emulatorEndpoint } from '../support/emulator';

/** What each command needs besides the global options to get as far as its action. */
const COMMAND_ARGS: Readonly<Record<string, readonly string[]>> = {
  config: [],
  regions: ['--all'],
  publish: ['--dry-run'],
  'boot-test': ['--ami', 'ami-0123456789abcdef0', '--subnet', 'subnet-1', '--security-group', 'sg-1'],
  'boot-history': ['--table', 'history'],
  prune: ['--details'],
  adopt: [],
  audit: ['--repair'],
  report: ['--out', 'site', '--table', 'history'],
  repro: ['--ami', 'ami-0123456789abcdef0'],
  'repro-history': [],
  cycle: [],
  status: ['--limit', '2'],
  start: ['prune', '--follow'],
};

// The repeatable options come last, right before the command, where a variadic option would take its name.
const GLOBALS = [
  '--region',
  'us-west-2',
  '--output',
  'json',
  '--endpoint-url',
  'http://127.0.0.1:9',
  '--regions',
  'us-east-1,eu-west-1',
  '--set',
  'publish.pollIntervalSeconds=5',
  '--set',
  'retention.keepNewest=7',
];

class Stopped extends Error {}

/** Parses `argv` up to the command's action (which is not run) and returns the command and the global options. */
async function parse(argv: readonly string[]): Promise<{ command: string; options: GlobalOptions }> {
  const program = buildProgram();
  let seen: { command: string; options: GlobalOptions } | undefined;
  program.hook('preAction', (root, action) => {
    seen = { command: action.name(), options: root.opts<GlobalOptions>() };
    throw new Stopped();
  });
  for (const command of [program, ...program.commands]) command.exitOverride();
  await expect(program.parseAsync(['node', 'ami-pipeline', ...argv])).rejects.toBeInstanceOf(Stopped);
  return seen!;
}

describe('global options before and after every command', () => {
  test('every command has its arguments listed here', () => {
    expect(
      buildProgram()
        .commands.map((c) => c.name())
        .sort(),
    ).toEqual(Object.keys(COMMAND_ARGS).sort());
  });

  describe.each(Object.entries(COMMAND_ARGS))('%s', (command, args) => {
    test.each([
      ['before the command', [...GLOBALS, command, ...args]],
      ['after the command', [command, ...args, ...GLOBALS]],
    ])('%s', async (_where, argv) => {
      const parsed = await parse(argv);
      const ctx = createContext(parsed.options);

      expect(parsed.command).toBe(command);
      expect(ctx.regions).toEqual(['us-east-1', 'eu-west-1']);
      expect(ctx.config.publish.pollIntervalSeconds).toBe(5);
      expect(ctx.config.retention.keepNewest).toBe(7);
      expect(ctx.config.buildRegion).toBe('us-west-2');
      expect(ctx.output).toBe('json');
      expect(ctx.endpointUrl).toBe('http://127.0.0.1:9');
    });
  });

  test('--regions may also be repeated, one region or list each time', async () => {
    const parsed = await parse(['--regions', 'us-east-1', 'regions', '--regions', 'eu-west-1,sa-east-1']);

    expect(createContext(parsed.options).regions).toEqual(['us-east-1', 'eu-west-1', 'sa-east-1']);
  });
});

describe('the runs that used to print the help instead', () => {
  const clients = new ClientFactory({ maxAttempts: 2 });
  const release: FleetImage = {
    region: 'us-east-1',
    arch: 'amd64',
    name: 'FreeBSD 14.3-RELEASE-amd64 base UFS',
    description: 'FreeBSD/amd64 releng/14.3@1a2b3c4d5e',
    tags: {},
  };

  beforeAll(async () => {
    await seedFleet(clients, [release]);
  });

  test('ami-pipeline --regions us-east-1,us-west-2 --set ... publish --dry-run plans those regions only', async () => {
    const { stdout } = await runCliWith(
      {},
      '--endpoint-url',
      emulatorEndpoint(),
      '--regions',
      'us-east-1,us-west-2',
      '--set',
      'publish.makeAmiPublic=false',
      '--set',
      'publish.pollIntervalSeconds=5',
      'publish',
      '--dry-run',
      '--output',
      'json',
    );

    const dry = JSON.parse(stdout) as { plan: { regions: { region: string }[] } };
    expect(dry.plan.regions.map((r) => r.region)).toEqual(['us-east-1', 'us-west-2']);
  });
});
