import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { mergeConfig, type PipelineConfig, parseConfig, setAtPath } from '../lambdas/core/config';
import { ConfigError } from '../lambdas/core/errors';

/** Context key holding the configuration object in cdk.json. */
export const CONFIG_CONTEXT_KEY = 'ami-pipeline';
/** Context key naming a JSON configuration file (`cdk synth -c configFile=my.json`). */
export const CONFIG_FILE_CONTEXT_KEY = 'configFile';
/** Prefix of single-field overrides: `cdk synth -c ami-pipeline:publish.deprecateAfterDays=180`. */
export const OVERRIDE_PREFIX = 'ami-pipeline:';

export interface ConfigSources {
  /** The `ami-pipeline` object of cdk.json's context. */
  readonly context?: unknown;
  /** How errors name the context (default: cdk.json context "ami-pipeline"). */
  readonly contextSource?: string;
  /** Path of a JSON file merged over the context. */
  readonly configFile?: string;
  /** How errors name the file's origin, e.g. `--config freebsd.json` (default: `-c configFile=<path>`). */
  readonly configFileSource?: string;
  /** Dotted-path overrides applied last, e.g. `{ 'safety.dryRun': 'false' }`. */
  readonly overrides?: Readonly<Record<string, unknown>>;
  /** How errors name one override (default: `-c ami-pipeline:<path>=<value>`, as cdk synth takes it). */
  readonly overrideSource?: (path: string, value: unknown) => string;
}

/** One source of configuration values and how an error names it. */
interface ConfigLayer {
  readonly source: string;
  readonly values: unknown;
}

/** Reads a JSON config file, naming the file (and how it was given) in any error. */
export function readConfigFile(path: string, source = path): unknown {
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (cause) {
    throw new ConfigError(`Cannot read configuration file ${path} (${source}): ${(cause as Error).message}`, {
      cause,
    });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`Configuration file ${path} (${source}) is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** Whether `values` gives the value at `path`, itself or as part of a scalar or list set higher up. */
function sets(values: unknown, path: readonly PropertyKey[]): boolean {
  let current = values;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return false;
    if (Array.isArray(current)) return true;
    if (!(String(key) in current)) return false;
    current = (current as Record<string, unknown>)[String(key)];
  }
  return current !== undefined;
}

/** Merges defaults < cdk.json context < config file < overrides, then validates once, naming each bad value's source. */
export function resolveConfig(sources: ConfigSources): PipelineConfig {
  const context = typeof sources.context === 'string' ? parseContext(sources.context) : sources.context;
  const layers: ConfigLayer[] = [
    { source: sources.contextSource ?? `cdk.json context "${CONFIG_CONTEXT_KEY}"`, values: context ?? {} },
  ];
  if (sources.configFile) {
    const source = sources.configFileSource ?? `-c ${CONFIG_FILE_CONTEXT_KEY}=${sources.configFile}`;
    layers.push({ source, values: readConfigFile(sources.configFile, source) });
  }
  const overrideSource =
    sources.overrideSource ?? ((path: string, value: unknown) => `-c ${OVERRIDE_PREFIX}${path}=${String(value)}`);
  for (const [path, value] of Object.entries(sources.overrides ?? {})) {
    const patch: Record<string, unknown> = {};
    setAtPath(patch, path, value);
    layers.push({ source: overrideSource(path, value), values: patch });
  }
  const raw = layers.reduce<unknown>((merged, layer) => mergeConfig(merged, layer.values), {});
  return parseConfig(raw, 'configuration', (path) => [...layers].reverse().find((l) => sets(l.values, path))?.source);
}

function parseContext(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`cdk.json context "${CONFIG_CONTEXT_KEY}" is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** The `ami-pipeline` context and config file named in a cdk.json, for the CLI. */
export function readCdkJsonContext(cdkJsonPath: string): { context?: unknown; configFile?: string } {
  try {
    const cdkJson = JSON.parse(readFileSync(cdkJsonPath, 'utf8')) as { context?: Record<string, unknown> };
    return {
      context: cdkJson.context?.[CONFIG_CONTEXT_KEY],
      configFile: cdkJson.context?.[CONFIG_FILE_CONTEXT_KEY] as string | undefined,
    };
  } catch {
    return {};
  }
}

/** Collects `ami-pipeline:<path>` keys from a flat context map. */
export function overridesFromContext(context: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(context)
      .filter(([key]) => key.startsWith(OVERRIDE_PREFIX))
      .map(([key, value]) => [key.slice(OVERRIDE_PREFIX.length), value]),
  );
}
