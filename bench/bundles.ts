import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BuildOptions, build } from 'esbuild';
import { synthesizeTemplate } from '../bin/local/pipeline';
import { readStack } from '../bin/local/template';
import { defaultConfig } from '../lambdas/core/config';
import { FUNCTION_BUNDLING } from '../lib/pipeline-function';
import { type BenchRow, row } from './table';

const PROJECT_ROOT = join(__dirname, '..');

/** esbuild options equivalent to a NodejsFunction's bundling options (what `cdk deploy` builds). */
export function esbuildOptions(bundling: {
  readonly minify?: boolean;
  readonly keepNames?: boolean;
  readonly target?: string;
  readonly mainFields?: readonly string[];
  readonly externalModules?: readonly string[];
  readonly define?: Readonly<Record<string, string>>;
  readonly esbuildArgs?: Readonly<Record<string, unknown>>;
}): BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: bundling.target ?? 'node22',
    minify: bundling.minify ?? false,
    keepNames: bundling.keepNames ?? false,
    mainFields: bundling.mainFields ? [...bundling.mainFields] : undefined,
    external: [...(bundling.externalModules ?? [])],
    define: bundling.define ? { ...bundling.define } : undefined,
    alias: Object.fromEntries(
      Object.entries(bundling.esbuildArgs ?? {})
        .filter(([flag]) => flag.startsWith('--alias:'))
        .map(([flag, target]) => [flag.slice('--alias:'.length), String(target)]),
    ),
    logLevel: 'error',
  };
}

/** NodejsFunction's defaults (no minifying, CommonJS entry points of packages first), the SDK bundled. */
const DEFAULT_BUNDLING = { minify: false, keepNames: false, target: 'node22', externalModules: [] };

async function bundle(
  entry: string,
  outfile: string,
  options: BuildOptions,
): Promise<{ bytes: number; clients: string[] }> {
  const result = await build({ ...options, entryPoints: [entry], outfile, sourcemap: false, metafile: true });
  const clients = new Set<string>();
  for (const input of Object.keys(result.metafile.inputs)) {
    const client = /node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//.exec(input)?.[1];
    if (client) clients.add(client);
  }
  return { bytes: statSync(outfile).size, clients: [...clients].sort() };
}

/**
 * A handler that uses the given SDK clients and nothing else: what a function calling those services would be
 * if written the plain way. Bundled the default way, it is the baseline a function is compared with.
 */
function plainHandler(clients: readonly string[]): string {
  const lines = clients.map((client, i) => {
    const exports = require(`@aws-sdk/${client}`) as Record<string, unknown>;
    const name = Object.keys(exports).find((k) => k.endsWith('Client') && !k.startsWith('_') && k !== 'Client')!;
    return { imports: `import { ${name} as C${i} } from '@aws-sdk/${client}';`, use: `new C${i}({})` };
  });
  return `${lines.map((l) => l.imports).join('\n')}\nexport const handler = async () => [${lines.map((l) => l.use).join(', ')}];\n`;
}

/** Milliseconds a fresh Node.js process takes to load a bundle and reach its handler, median of `runs`. */
function coldLoadMs(file: string, runs: number): number {
  const script = `const t=process.hrtime.bigint();const m=require(${JSON.stringify(file)});if(typeof m.handler!=='function')process.exit(2);process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    times.push(Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })));
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

/** Every function's bundle, size and cold load, side by side with the same handler bundled the default way. */
export async function benchBundles(size: 'small' | 'full'): Promise<BenchRow[]> {
  const { functions } = readStack(synthesizeTemplate(defaultConfig()));
  const entries = [...new Set([...functions.values()].map((f) => f.entry))].sort();
  const chosen = size === 'small' ? entries.slice(0, 2) : entries;
  const runs = size === 'small' ? 1 : 5;
  // Inside the project, so that the plain handlers resolve the same packages.
  const cache = join(PROJECT_ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'bundles-'));
  const rows: BenchRow[] = [];
  try {
    for (const entry of chosen) {
      const source = join(PROJECT_ROOT, 'lambdas', entry);
      const name = entry.replace(/\.ts$/, '').replaceAll('/', '-');
      const ours = join(dir, `${name}.js`);
      const baseline = join(dir, `${name}-default.js`);
      const built = await bundle(source, ours, esbuildOptions(FUNCTION_BUNDLING));
      const plain = join(dir, `${name}-plain.ts`);
      writeFileSync(plain, plainHandler(built.clients));
      const oursBytes = built.bytes;
      const baselineBytes = (await bundle(plain, baseline, esbuildOptions(DEFAULT_BUNDLING))).bytes;
      // Alternate the two so that a noisy moment of the machine weighs on both alike.
      const baselineMs = coldLoadMs(baseline, runs);
      const oursMs = coldLoadMs(ours, runs);
      rows.push(
        row({
          group: `bundle ${entry}`,
          measure: 'size',
          reference: baselineBytes / 1e6,
          referenceLabel: `default bundle of a plain handler of ${built.clients.length} client(s)`,
          result: oursBytes / 1e6,
          unit: 'MB',
          maxRatio: 0.5,
        }),
        row({
          group: `bundle ${entry}`,
          measure: 'cold load',
          reference: baselineMs,
          referenceLabel: 'the same plain handler',
          result: oursMs,
          unit: 'ms',
          maxRatio: 0.5,
        }),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
