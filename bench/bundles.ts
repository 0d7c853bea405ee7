import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BuildOptions, build } from 'esbuild';
import { synthesizeTemplate } from '../bin/local/pipeline';
import { readStack } from '../bin/local/template';
import { defaultConfig } from '../lambdas/core/config';
import { FUNCTION_BUILD_OPTIONS, sdkSchemaLiteralKeys } from '../lib/function-bundle';
import { type BenchRow, row } from './table';

const PROJECT_ROOT = join(__dirname, '..');

/** esbuild options equivalent to a NodejsFunction's bundling options (what it builds by default). */
function esbuildOptions(bundling: {
  readonly minify?: boolean;
  readonly keepNames?: boolean;
  readonly target?: string;
  readonly alias?: Readonly<Record<string, string>>;
}): BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: bundling.target ?? 'node22',
    minify: bundling.minify ?? false,
    keepNames: bundling.keepNames ?? false,
    alias: { ...bundling.alias },
    logLevel: 'error',
  };
}

/** What `cdk deploy` builds for every function (lib/function-bundle.ts). */
const FUNCTION_OPTIONS: BuildOptions = {
  ...FUNCTION_BUILD_OPTIONS,
  absWorkingDir: PROJECT_ROOT,
  plugins: [sdkSchemaLiteralKeys],
  logLevel: 'error',
};

/**
 * NodejsFunction's defaults (no minifying, CommonJS entry points of packages first), the SDK bundled. The one alias
 * the functions need to be bundled at all (vega-canvas, see FUNCTION_BUILD_OPTIONS) is kept: without it the digest's
 * handler has no CommonJS bundle to compare with.
 */
const DEFAULT_BUNDLING = {
  minify: false,
  keepNames: false,
  target: 'node22',
  alias: FUNCTION_BUILD_OPTIONS.alias,
};

interface BuiltBundle {
  readonly bytes: number;
  /** The SDK clients (`client-ec2`) with code in the bundle. */
  readonly clients: string[];
  /** Bytes of the clients' schema modules (see `schemaNote`). */
  readonly schemaBytes: number;
  /** Bytes of vega, vega-lite and d3, which draw the digest's plots. */
  readonly chartBytes: number;
}

async function bundle(entry: string, outfile: string, options: BuildOptions): Promise<BuiltBundle> {
  const result = await build({ ...options, entryPoints: [entry], outfile, sourcemap: false, metafile: true });
  // Only inputs that left code in the output: a client whose modules were read but shaken off is not bundled.
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined)!;
  const clients = new Set<string>();
  let schemaBytes = 0;
  let chartBytes = 0;
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    if (/node_modules\/(vega|d3)[a-z-]*\//.test(input)) chartBytes += bytesInOutput;
    const client = /node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//.exec(input)?.[1];
    if (client && bytesInOutput > 0) clients.add(client);
    if (client && input.includes('/schemas/')) schemaBytes += bytesInOutput;
  }
  return { bytes: statSync(outfile).size, clients: [...clients].sort(), schemaBytes, chartBytes };
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

/**
 * Milliseconds of CPU (user and system) a fresh Node.js process spends loading a bundle and reaching its handler.
 * CPU time rather than wall time: loading is compute bound, and on a shared machine the wall clock mostly measures
 * the wait for a core.
 */
function coldLoadMs(file: string): number {
  const script = `const c=process.cpuUsage();const m=require(${JSON.stringify(file)});if(typeof m.handler!=='function')process.exit(2);const d=process.cpuUsage(c);process.stdout.write(String((d.user+d.system)/1e3))`;
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
}

/**
 * The median cold load of each file over `runs` rounds. Every round loads each file once, in turn, so that a busy
 * moment of a shared machine weighs on all of them alike.
 */
function coldLoadsMs(files: readonly string[], runs: number): number[] {
  const times = files.map(() => [] as number[]);
  for (let round = 0; round < runs; round++) {
    for (const [i, file] of files.entries()) times[i]!.push(coldLoadMs(file));
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
const ms = (value: number) => `${value.toFixed(0)} ms`;

/**
 * Why a bundle keeps more of a client than its code names. The SDK describes every shape of a service in one schema
 * module; esbuild drops the shapes nothing reaches only because lib/function-bundle.ts writes their computed member
 * keys (`{ [_xN]: ... }`) as plain strings. A bundle that still holds 0.1 MB of schemas says that stopped working.
 */
function schemaNote(built: BuiltBundle): string | undefined {
  if (built.schemaBytes < 100_000) return undefined;
  return `SDK schema modules ${mb(built.schemaBytes)} of it (${((100 * built.schemaBytes) / built.bytes).toFixed(0)} %), shapes esbuild did not shake`;
}

/**
 * Why a bundle's cold load stays above half its baseline's, when it does. Loading is bound by parsing and running the
 * bundle's top-level code. The digest also loads vega and d3, which draw its plots on every run; a function without
 * an SDK client is compared with its own code bundled the default way, where minifying shortens the parse but not
 * the set-up of zod's schemas and Powertools; otherwise what stays is the SDK's shared runtime (smithy core, the
 * credential chain), the same in any bundling.
 */
function loadNote(built: BuiltBundle): string {
  if (built.schemaBytes >= 100_000) return `${mb(built.schemaBytes)} of SDK schemas, parsed and built at load`;
  if (built.chartBytes >= 100_000) return `${mb(built.chartBytes)} of vega and d3, which draw the plots on every run`;
  if (built.clients.length === 0) return "no SDK to shake: the same code and zod's and Powertools' set-up either way";
  return "the SDK's shared runtime and zod's and Powertools' set-up, the same in any bundling";
}

/** Every function's bundle, size and cold load, side by side with the same handler bundled the default way. */
export async function benchBundles(size: 'small' | 'full'): Promise<BenchRow[]> {
  const { functions } = readStack(synthesizeTemplate(defaultConfig()));
  const entries = [...new Set([...functions.values()].map((f) => f.entry))].sort();
  const chosen = size === 'small' ? entries.slice(0, 1) : entries;
  const runs = size === 'small' ? 1 : 7;
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
      const built = await bundle(source, ours, FUNCTION_OPTIONS);
      // The baseline is the SDK alone: a plain handler of the same clients, bundled the default way. A function
      // that uses no client is compared with its own handler bundled the default way instead.
      const sameDefault = join(dir, `${name}-same-default.js`);
      const same = await bundle(source, sameDefault, esbuildOptions(DEFAULT_BUNDLING));
      let baseline = sameDefault;
      let baselineBytes = same.bytes;
      let baselineLabel = 'default bundle of the same handler, which uses no SDK client';
      if (built.clients.length > 0) {
        const plain = join(dir, `${name}-plain.ts`);
        writeFileSync(plain, plainHandler(built.clients));
        baseline = join(dir, `${name}-plain-default.js`);
        baselineBytes = (await bundle(plain, baseline, esbuildOptions(DEFAULT_BUNDLING))).bytes;
        baselineLabel = `default bundle of a plain handler of ${built.clients.map((c) => c.slice(7)).join('+')}`;
      }
      const [baselineMs, oursMs, sameMs] = coldLoadsMs([baseline, ours, sameDefault], runs);
      const sameNote = `the same handler bundled the default way: ${mb(same.bytes)}, ${ms(sameMs!)}`;
      rows.push(
        row({
          group: `bundle ${entry}`,
          measure: 'size',
          reference: baselineBytes / 1e6,
          referenceLabel: baselineLabel,
          result: built.bytes / 1e6,
          unit: 'MB',
          maxRatio: 0.5,
          note: [sameNote, schemaNote(built)].filter(Boolean).join('; '),
        }),
        row({
          group: `bundle ${entry}`,
          measure: 'cold load',
          reference: baselineMs!,
          referenceLabel: 'the same baseline',
          result: oursMs!,
          unit: 'ms',
          maxRatio: 0.5,
          ...(oursMs! > 0.5 * baselineMs! && { note: loadNote(built) }),
        }),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
