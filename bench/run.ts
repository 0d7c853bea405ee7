import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchBoot } from './boot';
import { benchBundles } from './bundles';
import { benchCost } from './cost';
import { benchPrune } from './prune';
import { benchPublish } from './publish';
import { type BenchRow, renderBenchTable } from './table';

const PARTS: Readonly<Record<string, (size: 'small' | 'full') => Promise<BenchRow[]>>> = {
  prune: benchPrune,
  publish: benchPublish,
  boot: benchBoot,
  cost: benchCost,
  bundles: benchBundles,
};

/** `npm run bench [-- --small] [-- --only prune,publish,boot,cost,bundles]`: the table, printed and written to bench/results/. */
async function main(argv: readonly string[]): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  process.env.LOG_LEVEL ??= 'error';
  const size = argv.includes('--small') ? 'small' : 'full';
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? argv[onlyAt + 1]!.split(',') : Object.keys(PARTS);
  const rows: BenchRow[] = [];
  const started = Date.now();
  for (const name of only) {
    const part = PARTS[name];
    if (!part) throw new Error(`no bench part ${name} (parts: ${Object.keys(PARTS).join(', ')})`);
    const partStarted = Date.now();
    rows.push(...(await part(size)));
    process.stderr.write(`${name}: ${((Date.now() - partStarted) / 1000).toFixed(0)} s of wall time\n`);
  }
  const table = renderBenchTable(rows);
  process.stdout.write(`${table}\n`);
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const result = { size, finishedAt: new Date().toISOString(), wallSeconds: (Date.now() - started) / 1000, rows };
  writeFileSync(join(dir, `latest-${size}.json`), `${JSON.stringify(result, null, 2)}\n`);
  if (rows.some((r) => r.met === false)) process.exitCode = 1;
}

main(process.argv.slice(2)).catch((error: Error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
