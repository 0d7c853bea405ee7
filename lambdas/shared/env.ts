import { type PipelineConfig, parseConfig } from '../core/config';
import { ConfigError } from '../core/errors';
import { invocationEnv } from './invocation';

/** Environment variable carrying the (validated) pipeline configuration into every Lambda. */
export const CONFIG_ENV = 'AMI_PIPELINE_CONFIG';

let cached: { raw: string; config: PipelineConfig } | undefined;

/** Reads the pipeline configuration from the environment once, failing fast with the field that is wrong. */
export function configFromEnv(env: Readonly<Record<string, string | undefined>> = invocationEnv()): PipelineConfig {
  const raw = env[CONFIG_ENV] ?? '{}';
  if (cached?.raw === raw) return cached.config;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (cause) {
    throw new ConfigError(`${CONFIG_ENV} is not valid JSON`, { cause });
  }
  const config = parseConfig(parsed, `${CONFIG_ENV} environment variable`);
  cached = { raw, config };
  return config;
}

/** A required environment variable, or an error naming it. */
export function requiredEnv(name: string, env: Readonly<Record<string, string | undefined>> = invocationEnv()): string {
  const value = env[name];
  if (!value) throw new ConfigError(`environment variable ${name} is not set; the stack sets it on deploy`);
  return value;
}
