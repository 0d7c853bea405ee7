import { buildProgram } from '../../bin/ami-pipeline';

/** Runs the CLI in-process and returns what it printed on stdout; progress on stderr is swallowed. */
export async function runCli(...args: string[]): Promise<string> {
  const printed: string[] = [];
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await buildProgram()
      .exitOverride()
      .parseAsync(['node', 'ami-pipeline', ...args]);
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return printed.join('');
}
