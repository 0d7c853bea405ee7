import { join } from 'node:path';
import { ClientFactory, type ClientPlugin } from '../../lambdas/aws/clients';
import { resolveRegions } from '../../lambdas/aws/regions';
import type { PipelineConfig } from '../../lambdas/core/config';
import { ConfigError } from '../../lambdas/core/errors';
import { type RegionSelection, regionNameProblem } from '../../lambdas/core/regions';
import { Logger, silentLogger } from '../../lambdas/shared/logger';
import { CONFIG_FILE_CONTEXT_KEY, readCdkJsonContext, resolveConfig } from '../../lib/config-source';
import { type ProgressDisplay, type ProgressStream, progressDisplay } from './progress';

/** Options every subcommand understands, with the AWS CLI's names. */
export interface GlobalOptions {
  readonly config?: string;
  readonly profile?: string;
  readonly region?: string;
  /** Each `--regions` value as given (comma-separated names); the flag may be repeated. */
  readonly regions?: string[];
  readonly endpointUrl?: string;
  readonly output: 'json' | 'table';
  /** Each `--set path=value` as given; the flag is repeated for more fields. */
  readonly set?: string[];
  readonly verbose?: boolean;
  readonly progress?: boolean;
}

/** How often `start --follow` asks Step Functions about an execution: the first wait, doubling to the longest. */
export interface FollowPolling {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** What the program is built with besides the command line: where AWS calls go in tests, how progress shows. */
export interface CliEnvironment {
  /** Client plug-ins added to every client the CLI makes (tests answer Step Functions with the local engine). */
  readonly plugins?: readonly ClientPlugin[];
  /** Where progress goes; standard error by default. */
  readonly progressStream?: ProgressStream;
  /** A live display (true) or plain lines (false); by default live exactly when the stream is a terminal. */
  readonly liveProgress?: boolean;
  readonly followPolling?: FollowPolling;
  readonly cwd?: string;
}

/** What a subcommand runs with: the same configuration, clients and core as the Lambdas. */
export interface CliContext {
  readonly config: PipelineConfig;
  readonly clients: ClientFactory;
  /** The endpoint every AWS call goes to when it is not AWS itself (a local emulator). */
  readonly endpointUrl?: string;
  readonly output: 'json' | 'table';
  /** Regions named on the command line (`--regions a,b`), if any. */
  readonly regions?: string[];
  readonly logger: Logger;
  readonly now: () => Date;
  /** Writes the command's result on standard output, after ending the progress display. */
  readonly print: (text: string) => void;
  /** The live progress of executions, on standard error. */
  readonly progress: ProgressDisplay;
  /** Writes a warning on standard error, once per text. */
  readonly warn: (text: string) => void;
  readonly followPolling: FollowPolling;
}

const DEFAULT_FOLLOW: FollowPolling = { initialMs: 2_000, maxMs: 30_000 };

/** Commander's collector for a repeatable option: every occurrence is kept, in order. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The region names of `--regions` values (`a,b`, repeatable), each checked before anything calls AWS. */
export function regionsOption(values: readonly string[] | undefined): string[] | undefined {
  const names = (values ?? []).flatMap((value) => value.split(',')).map((name) => name.trim());
  const problems = names.filter(Boolean).flatMap((name) => regionNameProblem(name) ?? []);
  if (problems.length > 0) throw new ConfigError(`--regions: ${problems.join('; ')}`);
  const regions = names.filter(Boolean);
  return regions.length ? [...new Set(regions)] : undefined;
}

/** `--set path=value` pairs as overrides, each with the flag that set it for error messages. */
function setOverrides(pairs: readonly string[]): { values: Record<string, string>; sources: Map<string, string> } {
  const values: Record<string, string> = {};
  const sources = new Map<string, string>();
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw new ConfigError(`--set expects path=value, e.g. --set safety.dryRun=false (got "${pair}")`);
    values[pair.slice(0, at)] = pair.slice(at + 1);
    sources.set(pair.slice(0, at), `--set ${pair}`);
  }
  return { values, sources };
}

/**
 * Builds the CLI context: cdk.json context < `--config` file < `--set path=value` (and `--region`), validated once,
 * each error naming the source that set the bad value.
 */
export function createContext(options: GlobalOptions, environment: CliEnvironment = {}): CliContext {
  const regions = regionsOption(options.regions);
  const cdk = readCdkJsonContext(join(environment.cwd ?? process.cwd(), 'cdk.json'));
  const overrides = setOverrides(options.set ?? []);
  if (options.region) {
    overrides.values.buildRegion = options.region;
    overrides.sources.set('buildRegion', `--region ${options.region}`);
  }
  const configFile = options.config ?? cdk.configFile;
  const config = resolveConfig({
    context: cdk.context,
    configFile,
    configFileSource: options.config
      ? `--config ${options.config}`
      : `cdk.json context ${CONFIG_FILE_CONTEXT_KEY}=${configFile}`,
    overrides: overrides.values,
    overrideSource: (path) => overrides.sources.get(path) ?? path,
  });
  const stream = environment.progressStream ?? process.stderr;
  const progress = progressDisplay(stream, {
    live: options.progress === false ? false : environment.liveProgress,
  });
  const quietProgress: ProgressDisplay = { observe: () => undefined, note: (t) => progress.note(t), stop: () => {} };
  const warned = new Set<string>();
  return {
    config,
    clients: new ClientFactory({
      profile: options.profile,
      endpoint: options.endpointUrl,
      plugins: environment.plugins,
    }),
    endpointUrl: options.endpointUrl,
    output: options.output,
    regions,
    logger: options.verbose ? new Logger({ service: 'cli' }, 'debug', (line) => progress.note(line)) : silentLogger,
    now: () => new Date(),
    print: (text) => {
      progress.stop();
      process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    progress: options.progress === false ? quietProgress : progress,
    warn: (text) => {
      if (warned.has(text)) return;
      warned.add(text);
      progress.note(`warning: ${text}`);
    },
    followPolling: environment.followPolling ?? DEFAULT_FOLLOW,
  };
}

/** The regions a command works in, as every function decides them, with a warning for each name the account lacks. */
export async function commandRegions(ctx: CliContext, options: { readonly requireSome?: boolean } = {}) {
  const selection: RegionSelection = await resolveRegions(ctx.clients, ctx.config, ctx.regions);
  for (const warning of selection.warnings) ctx.warn(warning);
  if (options.requireSome && ctx.regions && selection.selected.length === 0) {
    const reasons = selection.decisions
      .filter((d) => ctx.regions?.includes(d.region))
      .map((d) => `${d.region}: ${d.reason}`);
    throw new ConfigError(`--regions leaves no region to work in (${reasons.join('; ')})`);
  }
  return selection;
}
