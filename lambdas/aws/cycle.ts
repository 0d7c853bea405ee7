import { PublishCommand } from '@aws-sdk/client-sns';
import type { PipelineConfig } from '../core/config';
import {
  type BootTestSummary,
  type Digest,
  type DigestInput,
  type PruneSummary,
  type PublishSummary,
  renderDigest,
} from '../core/digest';
import { describeError, type ItemFailure } from '../core/errors';
import { type Logger, silentLogger } from '../shared/logger';
import type { BootHistoryStore } from './boot/history';
import type { BootNetworkConfig } from './boot/instances';
import { type BootTestReport, type BootWaits, runBootTest } from './boot/run';
import type { PortProbe } from './boot/tcp-probe';
import type { ClientFactory } from './clients';
import { type PruneRunResult, runPrune } from './prune/run';
import { type PublishResult, runPublish } from './publish/service';
import type { RateLimiter } from './rate-limiter';

/** How boot tests run in-process: the network to launch into and the probe that can reach it. */
export interface CycleBootTest {
  readonly network: BootNetworkConfig;
  readonly probe: PortProbe;
  readonly history?: BootHistoryStore;
  readonly waits?: Partial<BootWaits>;
  readonly probeHost?: Parameters<typeof runBootTest>[0]['probeHost'];
}

export interface WeeklyCycleOptions {
  readonly config: PipelineConfig;
  readonly clients: ClientFactory;
  readonly now: Date;
  readonly logger?: Logger;
  readonly limiter?: RateLimiter;
  /** Restricts publishing and pruning to these regions (they must still be enabled and allowed). */
  readonly regions?: readonly string[];
  /** Waits between publish polls; tests and the demo shorten them. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly pollSeconds?: number;
  /** Announcement and digest topic; without it the digest is only returned. */
  readonly topicArn?: string;
  /** Boot tests of the newly published images; left out when not given (e.g. no reachable test network). */
  readonly bootTest?: CycleBootTest;
  /** Deletes for real; by default only when `safety.dryRun` is false. */
  readonly executePrune?: boolean;
}

/** What each part of the week did, and the digest mailed about it. */
export interface WeeklyCycleResult {
  /** Undefined when the part could not run at all; `failures` says why. */
  readonly publish?: PublishResult;
  readonly bootTest?: BootTestReport;
  readonly prune?: PruneRunResult;
  readonly digest: Digest;
  readonly digestMessageId?: string;
  /** Parts that could not run at all (distinct from per-item failures inside a part). */
  readonly failures: ItemFailure[];
}

/** The digest's view of a publish run. */
export function summarisePublish(result: PublishResult): PublishSummary {
  const failures = [...result.failures, ...result.outcomes.flatMap((o) => o.failed)];
  for (const outcome of result.outcomes)
    if (outcome.error) failures.push({ id: 'region', region: outcome.region, error: outcome.error });
  return {
    images: result.sources.map((s) => s.name),
    regions: result.regions.length,
    copiesMade: result.outcomes.reduce((sum, o) => sum + Object.keys(o.published).length, 0),
    regionsFailed: result.outcomes.filter((o) => o.status === 'failed').map((o) => o.region),
    announced: (result.announcement?.messages ?? 0) > 0,
    failures,
  };
}

/** The digest's view of a boot-test run. */
export function summariseBootTest(report: BootTestReport): BootTestSummary {
  const count = (status: string) => report.results.filter((r) => r.status === status).length;
  const failures: ItemFailure[] = report.results
    .filter((r) => r.status === 'failed' || r.status === 'timeout')
    .map((r) => ({ id: `${r.imageName} on ${r.instanceType}`, region: r.region, error: r.reason, code: r.status }));
  failures.push(...report.cleanup.failed);
  const slowest = [...report.rows]
    .filter((row) => row.status === 'passed' && row.median.bootSeconds !== undefined)
    .sort((a, b) => b.median.bootSeconds! - a.median.bootSeconds!)
    .slice(0, 3)
    .map((row) => `${row.imageName} on ${row.instanceType}: ${row.median.bootSeconds!.toFixed(1)} s`);
  return {
    runs: report.results.length,
    passed: count('passed'),
    failed: count('failed') + count('timeout'),
    skipped: count('skipped'),
    regressions: report.regressions.map((r) => r.message ?? r.reason),
    notable: slowest,
    failures,
  };
}

/** The digest's view of a prune run. */
export function summarisePrune(result: PruneRunResult): PruneSummary {
  const keptByReason: Record<string, number> = {};
  for (const region of result.report.regions)
    for (const [reason, count] of Object.entries(region.keptByReason))
      keptByReason[reason] = (keptByReason[reason] ?? 0) + count;
  const failures = result.report.regions.flatMap((r) => [
    ...r.failures,
    ...(r.error ? [{ id: 'region', region: r.region, error: r.error }] : []),
  ]);
  return {
    dryRun: result.report.dryRun,
    imagesDeregistered: result.report.totals.imagesDeregistered,
    snapshotsDeleted: result.report.totals.snapshotsDeleted,
    reclaimedGiB: result.report.totals.gibReclaimed,
    remainingOverCap: result.report.totals.remainingOverCap,
    unmanagedFound: result.report.regions.reduce((sum, r) => sum + r.unmanagedFound, 0),
    keptByReason,
    regionsRefused: result.report.regions.filter((r) => r.breaker.tripped).map((r) => r.region),
    failures,
  };
}

/**
 * One whole week in-process, as the scheduled workflows run it in an account: publish the new images, boot-test
 * them, prune, and send one digest. A part that throws is reported in the digest and the next part still runs.
 */
export async function runWeeklyCycle(options: WeeklyCycleOptions): Promise<WeeklyCycleResult> {
  const { config, clients, now } = options;
  const logger = options.logger ?? silentLogger;
  const failures: ItemFailure[] = [];
  const attempt = async <T>(part: string, work: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await work();
    } catch (error) {
      const { message, code } = describeError(error);
      logger.error('cycle part failed', { part, error: message });
      failures.push({ id: part, region: config.buildRegion, error: message, code });
      return undefined;
    }
  };

  const publish = await attempt('publish', () =>
    runPublish({
      config,
      clients,
      now: () => now,
      logger,
      limiter: options.limiter,
      sleep: options.sleep,
      pollSeconds: options.pollSeconds,
      topicArn: options.topicArn,
      regions: options.regions,
    }),
  );
  const newImages = (publish?.sources ?? []).map((s) => s.imageId);
  const boot = options.bootTest;
  const bootTest =
    boot && config.bootTest.enabled && newImages.length > 0
      ? await attempt('boot-test', () =>
          runBootTest(
            {
              config,
              clients,
              region: config.buildRegion,
              network: boot.network,
              probe: boot.probe,
              history: boot.history,
              waits: boot.waits,
              probeHost: boot.probeHost,
              limiter: options.limiter,
              logger,
              now: () => now,
            },
            { runId: `weekly-${now.toISOString().slice(0, 10)}`, imageIds: newImages },
          ),
        )
      : undefined;
  const prune = await attempt('prune', () =>
    runPrune({
      config,
      clients,
      now,
      logger,
      limiter: options.limiter,
      execute: options.executePrune,
      regions: options.regions,
    }),
  );

  const input: DigestInput = {
    weekEnding: now.toISOString().slice(0, 10),
    subjectPrefix: config.notifications.subjectPrefix,
    publish: publish && summarisePublish(publish),
    bootTest: bootTest && summariseBootTest(bootTest),
    prune: prune && summarisePrune(prune),
  };
  const rendered = renderDigest(input);
  const digest = failures.length
    ? {
        ...rendered,
        needsAttention: true,
        text: `${rendered.text}\nParts that could not run:\n${failures.map((f) => `    ${f.id}: ${f.error}`).join('\n')}\n`,
      }
    : rendered;
  let digestMessageId: string | undefined;
  if (options.topicArn) {
    const sent = await attempt('digest', () =>
      clients
        .sns(config.buildRegion)
        .send(new PublishCommand({ TopicArn: options.topicArn, Subject: digest.subject, Message: digest.text })),
    );
    digestMessageId = sent?.MessageId;
  }
  return { publish, bootTest, prune, digest, digestMessageId, failures };
}
