import type { Command } from 'commander';
import { resolveRegions } from '../../lambdas/aws/regions';
import type { CliContext } from '../cli/context';
import { formatOutput, renderTable } from '../cli/output';

/** `ami-pipeline regions`: which regions a run works in, and why each other region is left out. */
export function registerRegions(program: Command, context: () => CliContext): void {
  program
    .command('regions')
    .description('list the regions a run works in, with the reason each region is in or out')
    .option('--all', 'also list the regions that are left out')
    .action(async (options: { all?: boolean }) => {
      const ctx = context();
      const selection = await resolveRegions(ctx.clients, ctx.config, ctx.regions);
      const rows = options.all ? selection.decisions : selection.decisions.filter((d) => d.selected);
      ctx.print(
        formatOutput(ctx.output, rows, (r) =>
          renderTable(r, [
            { header: 'REGION', value: (d) => d.region },
            { header: 'SELECTED', value: (d) => (d.selected ? 'yes' : 'no') },
            { header: 'REASON', value: (d) => d.reason },
          ]),
        ),
      );
    });
}
