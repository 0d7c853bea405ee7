import { copyFileSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type BuildOptions, build, type Plugin } from 'esbuild';

const PROJECT_ROOT = join(__dirname, '..');

/**
 * How every function is bundled (local esbuild, no Docker); the benchmarks build bundles with the same options and
 * plugin.
 */
export const FUNCTION_BUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  minify: true,
  // Names are not kept: esbuild's __name wrappers would sit on every function and class of the SDK, and the one
  // name that matters, an error's (Step Functions' error name), is spelled out by each error class.
  keepNames: false,
  sourcemap: true,
  // The SDK's ES modules first: esbuild drops what a function never names (other clients, unused commands), which
  // its CommonJS builds do not allow.
  mainFields: ['module', 'main'],
  // The SDK is bundled rather than taken from the runtime so that what runs is what the tests ran.
  external: [],
  // vega-canvas's Node build awaits an optional package at the top level, which a CommonJS bundle cannot hold;
  // SVG output needs no canvas (lambdas/core/report/no-canvas.ts says why).
  alias: { 'vega-canvas': './lambdas/core/report/no-canvas.ts' },
  logLevel: 'warning',
} satisfies BuildOptions;

const SDK_SCHEMA_MODULE = /[\\/]@aws-sdk[\\/]client-[a-z0-9-]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/;

/**
 * Lets esbuild drop the shapes of an SDK client's schema module that a function's commands never reach. The module
 * writes member traits with computed keys naming its own string constants (`{ [_xN]: _m }` for EC2's XML names);
 * esbuild must assume a computed key has side effects and so kept every shape, 0.55 MB of each EC2 function. The
 * plugin writes those keys as the strings they name, which changes no value.
 */
export const sdkSchemaLiteralKeys: Plugin = {
  name: 'sdk-schema-literal-keys',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: SDK_SCHEMA_MODULE }, ({ path }) => ({
      contents: literalSchemaKeys(readFileSync(path, 'utf8')),
      loader: 'js',
    }));
  },
};

/** A schema module's source with each computed key that names one of its string constants written as that string. */
export function literalSchemaKeys(source: string): string {
  const strings = new Map<string, string>();
  for (const [, name, value] of source.matchAll(/^const (_\w+) = ("(?:[^"\\\n]|\\.)*");$/gm))
    strings.set(name!, value!);
  return source.replace(/\[(_\w+)\]:/g, (key, name: string) => {
    const value = strings.get(name);
    return value === undefined ? key : `${value}:`;
  });
}

/**
 * Bundles the handler `entry` (relative to `lambdas/`) into `outdir/index.js` with its source map, and copies
 * `files` (relative to `lambdas/`) beside it.
 */
export async function bundleFunction(entry: string, outdir: string, files: readonly string[] = []): Promise<void> {
  await build({
    ...FUNCTION_BUILD_OPTIONS,
    absWorkingDir: PROJECT_ROOT,
    entryPoints: [join(PROJECT_ROOT, 'lambdas', entry)],
    outfile: join(outdir, 'index.js'),
    plugins: [sdkSchemaLiteralKeys],
  });
  for (const file of files) copyFileSync(join(PROJECT_ROOT, 'lambdas', file), join(outdir, basename(file)));
}

// The construct bundles in a child process: CDK's local bundling is synchronous, esbuild's plugins are not.
if (require.main === module) {
  const [entry, outdir, ...files] = process.argv.slice(2);
  bundleFunction(entry!, outdir!, files).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
