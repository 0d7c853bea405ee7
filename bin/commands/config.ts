import type { Command } from 'commander';
import type { CliContext } from '../cli/context';

/** `ami-pipeline config`: validates and prints the effective configuration. */
export function registerConfig(program: Command, context: () => CliContext): void {
  program
    .command('config')
    .description('validate and print the effective configuration (defaults < cdk.json < --config < --set)')
    .action(() => {
      const ctx = context();
      ctx.print(JSON.stringify(ctx.config, null, 2));
    });
}
