import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchBoot } from './boot';
import { benchBundles } from './bundles';
import { benchCost } from './cost';
import { benchPrune } from './prune';
import { benchPublish } from './publish';
import { type BenchRow, renderBenchMarkdown, renderBenchTable } from './table';

export type BenchSize = 'small' | 'full';

/** The parts of the bench, in the order the table shows them. */
export const BENCH_PARTS: Readonly<Record<string, (size: BenchSize) => Promise<BenchRow[]>>> = {
  prune: benchPrune,
  publish: benchPublish,
  boot: benchBoot,
  cost: benchCost,
  bundles: benchBundles,
};

/** The rows of the named parts (all by default), each part's wall time reported to `progress`. */
export async function runBench(
  size: BenchSize,
  only: readonly string[] = Object.keys(BENCH_PARTS),
  progress: (line: string) => void = () => undefined,
): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const name of only) {
    const part = BENCH_PARTS[name];
    if (!part) throw new Error(`no bench part ${name} (parts: ${Object.keys(BENCH_PARTS).join(', ')})`);
    const partStarted = Date.now();
    rows.push(...(await part(size)));
    progress(`${name}: ${((Date.now() - partStarted) / 1000).toFixed(0)} s of wall time`);
  }
  return rows;
}

/** `npm run bench [-- --small] [-- --only prune,publish,boot,cost,bundles]`: the table, printed and written to bench/results/. */
async function main(argv: readonly string[]): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  process.env.LOG_LEVEL ??= 'error';
  const size: BenchSize = argv.includes('--small') ? 'small' : 'full';
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? argv[onlyAt + 1]!.split(',') : undefined;
  const started = Date.now();
  const rows = await runBench(size, only, (line) => process.stderr.write(`${line}\n`));
  const table = renderBenchTable(rows);
  process.stdout.write(`${table}\n`);
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const result = { size, finishedAt: new Date().toISOString(), wallSeconds: (Date.now() - started) / 1000, rows };
  writeFileSync(join(dir, `latest-${size}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(dir, `latest-${size}.md`), `${renderBenchMarkdown(rows)}\n`);
  if (rows.some((r) => r.met === false)) process.exitCode = 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: Error) => {
    process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
    process.exitCode = 1;
  });
}
