import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { DynamoBootHistory } from '../../lambdas/aws/boot/history';
import { bootReportHtml } from '../../lambdas/aws/report/boot-page';
import { ConfigError } from '../../lambdas/core/errors';
import type { CliContext } from '../cli/context';
import { HISTORY_TABLE_ENV } from './boot-test';

/** `ami-pipeline report --out DIR`: the boot-performance page from the boot history, as a file to open or publish. */
export function registerReport(program: Command, context: () => CliContext): void {
  program
    .command('report')
    .description('write the boot-performance page (one self-contained index.html) from the boot history')
    .requiredOption('--out <dir>', 'folder to write index.html into (made when missing)')
    .option('--table <name>', `boot history table (default: $${HISTORY_TABLE_ENV})`)
    .action(async (options: { out: string; table?: string }) => {
      const ctx = context();
      const table = options.table ?? process.env[HISTORY_TABLE_ENV];
      if (!table) throw new ConfigError(`name the boot history table with --table or ${HISTORY_TABLE_ENV}`);
      const history = new DynamoBootHistory(ctx.clients.client(DynamoDBClient, ctx.config.buildRegion), table);
      const html = await bootReportHtml(history, ctx.config, ctx.now());
      const dir = resolve(options.out);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'index.html');
      writeFileSync(file, html);
      ctx.print(ctx.output === 'json' ? JSON.stringify({ file, bytes: Buffer.byteLength(html) }) : `wrote ${file}`);
    });
}
