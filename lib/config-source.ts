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
  /** Path of a JSON file merged over the context. */
  readonly configFile?: string;
  /** Dotted-path overrides applied last, e.g. `{ 'safety.dryRun': 'false' }`. */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

/** Reads a JSON config file, naming the file in any error. */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (cause) {
    throw new ConfigError(`Cannot read configuration file ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`Configuration file ${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

/** Merges defaults < cdk.json context < config file < overrides, then validates once. */
export function resolveConfig(sources: ConfigSources): PipelineConfig {
  let raw: unknown = sources.context ?? {};
  if (typeof raw === 'string') raw = JSON.parse(raw);
  const origin: string[] = ['cdk.json context "ami-pipeline"'];
  if (sources.configFile) {
    raw = mergeConfig(raw, readConfigFile(sources.configFile));
    origin.push(sources.configFile);
  }
  const overrides = Object.entries(sources.overrides ?? {});
  if (overrides.length > 0) {
    const patch: Record<string, unknown> = {};
    for (const [path, value] of overrides) setAtPath(patch, path, value);
    raw = mergeConfig(raw, patch);
    origin.push('-c overrides');
  }
  return parseConfig(raw, `configuration (from ${origin.join(' + ')})`);
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
