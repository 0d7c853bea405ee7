import { Command, Option } from 'commander';
import { version } from '../package.json';
import { type CliContext, createContext, type GlobalOptions } from './cli/context';
import { COMMANDS } from './commands';

/** Builds the operator CLI; exported so tests can drive it without a child process. */
export function buildProgram(): Command {
  const program = new Command('ami-pipeline')
    .description('Publish, boot-test and prune public AMIs across every enabled EC2 region.')
    .version(version, '-V, --version')
    .option('--config <file>', 'JSON configuration file merged over cdk.json context')
    .option('--set <path=value...>', 'override one configuration field, e.g. --set safety.dryRun=false')
    .option('--profile <name>', 'use a named profile from the shared AWS config files')
    .option('--region <region>', 'build region (overrides buildRegion)')
    .option('--regions <list...>', 'limit the run to these regions (comma or space separated)')
    .option('--endpoint-url <url>', 'send every AWS call to this endpoint (e.g. a local emulator)')
    .addOption(new Option('--output <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('-v, --verbose', 'log each step as JSON on stderr')
    .showHelpAfterError();
  let context: CliContext | undefined;
  const lazyContext = () => {
    context ??= createContext(program.opts<GlobalOptions>());
    return context;
  };
  for (const register of COMMANDS) register(program, lazyContext);
  return program;
}

/** Runs the CLI with `argv` (as `process.argv`), setting the exit code on failure. */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    process.stderr.write(`ami-pipeline: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main(process.argv);
