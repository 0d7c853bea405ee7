import { join } from 'node:path';
import { ClientFactory } from '../../lambdas/aws/clients';
import type { PipelineConfig } from '../../lambdas/core/config';
import { Logger, silentLogger } from '../../lambdas/shared/logger';
import { readCdkJsonContext, resolveConfig } from '../../lib/config-source';

/** Options every subcommand understands, with the AWS CLI's names. */
export interface GlobalOptions {
  readonly config?: string;
  readonly profile?: string;
  readonly region?: string;
  readonly regions?: string[];
  readonly endpointUrl?: string;
  readonly output: 'json' | 'table';
  readonly set?: string[];
  readonly verbose?: boolean;
}

/** What a subcommand runs with: the same configuration, clients and core as the Lambdas. */
export interface CliContext {
  readonly config: PipelineConfig;
  readonly clients: ClientFactory;
  /** The endpoint every AWS call goes to when it is not AWS itself (a local emulator). */
  readonly endpointUrl?: string;
  readonly output: 'json' | 'table';
  /** Regions named on the command line (`--regions a,b` or `--region a`), if any. */
  readonly regions?: string[];
  readonly logger: Logger;
  readonly now: () => Date;
  readonly print: (text: string) => void;
  readonly progress: (text: string) => void;
}

/** Builds the CLI context: cdk.json context < `--config` file < `--set path=value`, validated once. */
export function createContext(options: GlobalOptions, cwd = process.cwd()): CliContext {
  const cdk = readCdkJsonContext(join(cwd, 'cdk.json'));
  const overrides = Object.fromEntries(
    (options.set ?? []).map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new Error(`--set expects path=value, e.g. --set safety.dryRun=false (got "${pair}")`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  if (options.region) overrides.buildRegion = options.region;
  const config = resolveConfig({ context: cdk.context, configFile: options.config ?? cdk.configFile, overrides });
  const regions = options.regions?.flatMap((r) => r.split(',')).filter(Boolean);
  return {
    config,
    clients: new ClientFactory({ profile: options.profile, endpoint: options.endpointUrl }),
    endpointUrl: options.endpointUrl,
    output: options.output,
    regions: regions?.length ? regions : undefined,
    logger: options.verbose
      ? new Logger({ service: 'cli' }, 'debug', (l) => process.stderr.write(`${l}\n`))
      : silentLogger,
    now: () => new Date(),
    print: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    progress: (text) => {
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
      else process.stderr.write(`${text}\n`);
    },
  };
}
