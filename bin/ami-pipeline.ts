import { Command, Option } from 'commander';
import { version } from '../package.json';
import { type CliContext, type CliEnvironment, collect, createContext, type GlobalOptions } from './cli/context';
import { COMMANDS } from './commands';

/** Node.js major versions the CLI is tested on; the Lambdas run on Node.js 22. */
export const SUPPORTED_NODE_MAJORS: readonly number[] = [20, 22];

const NODE_SUPPORT = `The CLI runs on Node.js ${SUPPORTED_NODE_MAJORS.join(' and ')}; the Lambdas run on Node.js 22.`;

/** The operator CLI; `close()` ends its progress display once the command has run. */
export type Program = Command & { close(): void };

/**
 * Builds the operator CLI; exported so tests can drive it without a child process. Global options are understood
 * before and after the command, single-valued or repeated as the AWS CLI has them (`--regions a,b`, `--set k=v`
 * once per field), so none of them can take the command's name for a value.
 */
export function buildProgram(environment: CliEnvironment = {}): Program {
  const program = new Command('ami-pipeline')
    .description('Publish, boot-test and prune public AMIs across every enabled EC2 region.')
    .version(`${version} (Node.js ${process.versions.node}). ${NODE_SUPPORT}`, '-V, --version')
    .option('--config <file>', 'JSON configuration file merged over cdk.json context')
    .option(
      '--set <path=value>',
      'override one configuration field, e.g. --set safety.dryRun=false (repeat for more fields)',
      collect,
    )
    .option('--profile <name>', 'use a named profile from the shared AWS config files')
    .option('--region <region>', 'build region (overrides buildRegion)')
    .option('--regions <list>', 'limit the run to these regions, comma separated, e.g. us-east-1,eu-west-1', collect)
    .option('--endpoint-url <url>', 'send every AWS call to this endpoint (e.g. a local emulator)')
    .addOption(new Option('--output <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--no-progress', 'show no progress on standard error')
    .option('-v, --verbose', 'log each step as JSON on standard error')
    .addHelpText('after', `\nOptions above go before or after the command.\n${NODE_SUPPORT}`)
    .showHelpAfterError();
  let context: CliContext | undefined;
  const lazyContext = () => {
    context ??= createContext(program.opts<GlobalOptions>(), environment);
    return context;
  };
  for (const register of COMMANDS) register(program, lazyContext);
  return Object.assign(program, { close: () => context?.progress.stop() });
}

/**
 * The SDK warns on every start under Node.js 20 that its releases after January 2027 need Node.js 22. The CLI pins
 * its SDK release, so the warning asks nothing of its user; the supported versions are stated in `--help` and
 * `--version` instead. Whoever sets the SDK's variable keeps their choice.
 */
export function quietSdkNodeWarning(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

/** Runs the CLI with `argv` (as `process.argv`), setting the exit code on failure. */
export async function main(argv: readonly string[]): Promise<void> {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < Math.min(...SUPPORTED_NODE_MAJORS)) {
    process.stderr.write(`ami-pipeline: Node.js ${process.versions.node} is too old. ${NODE_SUPPORT}\n`);
    process.exitCode = 1;
    return;
  }
  quietSdkNodeWarning();
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    program.close();
    process.stderr.write(`ami-pipeline: ${(error as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    program.close();
  }
}

if (require.main === module) void main(process.argv);
