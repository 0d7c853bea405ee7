import { buildProgram } from '../../bin/ami-pipeline';
import type { CliEnvironment } from '../../bin/cli/context';

/** What one in-process run of the CLI wrote. */
export interface CliOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the CLI in-process with `environment` (client plug-ins, how progress shows) and returns what it wrote on
 * standard output and standard error. Progress is plain lines unless the environment asks for the live display.
 */
export async function runCliWith(environment: CliEnvironment, ...args: string[]): Promise<CliOutput> {
  const printed: string[] = [];
  const errors: string[] = [];
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    errors.push(String(chunk));
    return true;
  });
  const program = buildProgram({ liveProgress: false, ...environment });
  // Usage errors throw instead of ending the test process; subcommands keep the settings they were made with.
  for (const command of [program, ...program.commands]) command.exitOverride();
  try {
    await program.parseAsync(['node', 'ami-pipeline', ...args]);
  } finally {
    program.close();
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return { stdout: printed.join(''), stderr: errors.join('') };
}

/** Runs the CLI in-process and returns what it printed on stdout; progress on stderr is swallowed. */
export async function runCli(...args: string[]): Promise<string> {
  return (await runCliWith({}, ...args)).stdout;
}
