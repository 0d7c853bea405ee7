import { DeleteSnapshotCommand, DeregisterImageCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { ClientFactory } from '../lambdas/aws/clients';
import { readPruneInventory } from '../lambdas/aws/prune/inventory';
import { type PipelineConfigInput, parseConfig } from '../lambdas/core/config';
import { errorCode } from '../lambdas/core/errors';
import { planPrune, prunePolicy } from '../lambdas/core/prune';
import { synthesizeTemplate } from '../bin/local/pipeline';
import { COMMERCIAL_REGIONS, createAwsSim, runInVirtualTime } from '../scripts/aws-sim';
import { simulatedPipeline } from '../test/support/sim-pipeline';
import { benchConfig } from './config';
import { type BenchRow, row } from './table';

/** FreeBSD's weekly builds: 3 lines x 2 architectures x 2 file systems x 4 flavours. */
export const FREEBSD_WEEKLY_SERIES: readonly string[] = ['15.0-CURRENT', '14.3-STABLE', '13.5-STABLE'].flatMap((line) =>
  ['amd64', 'arm64'].flatMap((arch) =>
    ['ufs', 'zfs'].flatMap((fs) => ['base', 'cloud-init', 'small', 'builder'].map((f) => `${line}/${arch}/${f}/${fs}`)),
  ),
);

export interface PruneBenchSize {
  readonly regions: number;
  readonly weeks: number;
}

export const PRUNE_SIZES: Readonly<Record<'small' | 'full', PruneBenchSize>> = {
  // Enough weeks that some builds are past the 90-day minimum age.
  small: { regions: 2, weeks: 20 },
  // 156 weeks x 48 series = 7,488 images (and their snapshots) in each of 30 regions.
  full: { regions: 30, weeks: 156 },
};

const START = new Date('2026-03-07T06:00:00Z');
const NEWEST = '2026-03-06';
const BURST = 100;
const PER_SECOND = 5;
/** Regions the peers' sequential strategy is run in; its time for all regions is proportional. */
const PEER_REGIONS_MEASURED = 3;
/** The execute function's time budget per invocation (15 minutes less its safety margin). */
const SLICE_SECONDS = 840;

interface PruneRunMeasures {
  readonly virtualMs: number;
  readonly calls: number;
  readonly throttled: number;
  readonly surfaced: number;
  readonly slices: number;
  readonly deletions: Record<string, number>;
  readonly inventoryPages: number;
  readonly mismatchedSurvivors: number;
  readonly gibReclaimed: number;
}

/** The first `count` commercial regions, every one of them enabled in the simulated account. */
function benchRegions(count: number): string[] {
  return COMMERCIAL_REGIONS.slice(0, count).map((r) => r.name);
}

function simulatedAccount(regions: readonly string[]) {
  return createAwsSim({ seed: 42, regions });
}

/** The images a region must keep after the run: what the planner keeps on the seeded inventory. */
async function plannedDeletions(clients: ClientFactory, regions: readonly string[], config: PipelineConfigInput) {
  const parsed = parseConfig(config);
  const inventories = await Promise.all(
    regions.map((region) => readPruneInventory(clients, region, { ssmPrefix: parsed.publish.ssmPrefix })),
  );
  const plan = planPrune(inventories, prunePolicy(parsed, { overrideBreaker: true }), START);
  return new Map(
    plan.regions.map((r) => [
      r.region,
      r.images.filter((i) => i.action === 'deregister').map((i) => ({ imageId: i.imageId, snapshots: i.snapshotIds })),
    ]),
  );
}

/** The stack's prune workflow, as deployed, on the simulated AWS. */
async function ourPrune(size: PruneBenchSize): Promise<PruneRunMeasures> {
  const regions = benchRegions(size.regions);
  const config = benchConfig(regions);
  synthesizeTemplate(parseConfig(config));
  const sim = simulatedAccount(regions);
  const run = await runInVirtualTime(
    async () => {
      sim.seed.fleet({ regions, series: FREEBSD_WEEKLY_SERIES, weeks: size.weeks, newestBuildDate: NEWEST });
      const clients = sim.clientFactory();
      const planned = await plannedDeletions(clients, regions, config);
      const available = (region: string) =>
        new Set(
          sim.inspect
            .images(region)
            .filter((i) => i.state === 'available')
            .map((i) => i.imageId),
        );
      const before = new Map(regions.map((r) => [r, available(r)]));
      const callsBefore = sim.counters.calls();
      const started = sim.clock.now();
      const pipeline = await simulatedPipeline(sim, config);
      const report = await pipeline.prune({ execute: true, overrideBreaker: true }).done;
      const elapsed = sim.clock.now() - started;
      const summary = (report.output as { summary?: { summary?: { failedCount: number; gibReclaimed: number } } })
        .summary?.summary;
      // Survivors must be exactly the images there before less the planned deletions.
      let mismatched = 0;
      for (const region of regions) {
        const left = available(region);
        const doomed = new Set((planned.get(region) ?? []).map((d) => d.imageId));
        for (const id of before.get(region)!) if (left.has(id) === doomed.has(id)) mismatched++;
        for (const id of left) if (!before.get(region)!.has(id)) mismatched++;
      }
      return {
        virtualMs: elapsed,
        calls: sim.counters.calls() - callsBefore,
        throttled: sim.counters.throttled(),
        surfaced: report.status === 'SUCCEEDED' ? (summary?.failedCount ?? 0) : 1,
        slices: pipeline.engine.stats.get(
          [...pipeline.engine.functions.values()].find((f) => f.entry === 'prune/execute.ts')!.logicalId,
        )!.invocations,
        deletions: Object.fromEntries(regions.map((r) => [r, planned.get(r)?.length ?? 0])),
        // One inventory read per region (images and snapshots at 1,000 a page, the SSM references, the account
        // id) and the one DescribeRegions of the run.
        inventoryPages: regions.length * (2 * Math.ceil((size.weeks * FREEBSD_WEEKLY_SERIES.length) / 1000) + 2) + 1,
        mismatchedSurvivors: mismatched,
        gibReclaimed: summary?.gibReclaimed ?? 0,
      };
    },
    { start: START, seedMathRandom: 42 },
  );
  return run.result;
}

/**
 * The strategy peers use (NixOS/amis): one region after another, one image after another, deregister then delete
 * its snapshots, stop at the first error. Given the same deletions as the pipeline, so that only the strategy differs.
 */
async function peerPrune(
  size: PruneBenchSize,
): Promise<{ virtualMs: number; calls: number; stoppedBy?: string; regionsRun: number }> {
  // Regions run one after another, each alike: a few of them measured give the whole by proportion.
  const regions = benchRegions(Math.min(size.regions, PEER_REGIONS_MEASURED));
  const config = benchConfig(regions);
  const sim = simulatedAccount(regions);
  const run = await runInVirtualTime(
    async () => {
      sim.seed.fleet({ regions, series: FREEBSD_WEEKLY_SERIES, weeks: size.weeks, newestBuildDate: NEWEST });
      const clients = sim.clientFactory({ maxAttempts: 3 });
      const planned = await plannedDeletions(clients, regions, config);
      const callsBefore = sim.counters.calls();
      const started = sim.clock.now();
      let stoppedBy: string | undefined;
      try {
        for (const region of regions) {
          const ec2 = clients.client(EC2Client, region);
          for (const image of planned.get(region) ?? []) {
            await ec2.send(new DeregisterImageCommand({ ImageId: image.imageId }));
            for (const snapshot of image.snapshots) await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshot }));
          }
        }
      } catch (error) {
        stoppedBy = errorCode(error) ?? 'Error';
      }
      const scale = size.regions / regions.length;
      return {
        virtualMs: (sim.clock.now() - started) * scale,
        calls: Math.round((sim.counters.calls() - callsBefore) * scale),
        stoppedBy,
        regionsRun: regions.length,
      };
    },
    { start: START, seedMathRandom: 42 },
  );
  return run.result;
}

/** The prune backlog: the stack's workflow against the bound AWS's buckets imply, and against the peers' strategy. */
export async function benchPrune(sizeName: 'small' | 'full'): Promise<BenchRow[]> {
  const size = PRUNE_SIZES[sizeName];
  const ours = await ourPrune(size);
  const peer = await peerPrune(size);
  const perRegion = Object.values(ours.deletions);
  const boundSeconds = Math.max(...perRegion.map((d) => Math.max(0, d - BURST) / PER_SECOND));
  const totalDeletions = perRegion.reduce((a, b) => a + b, 0);
  const minimumCalls = totalDeletions + ours.inventoryPages;
  const minimumSlices = perRegion.reduce(
    (sum, d) => sum + Math.max(1, Math.ceil(Math.max(0, d - BURST) / PER_SECOND / SLICE_SECONDS)),
    0,
  );
  const group = `prune ${size.regions} regions x ${size.weeks * FREEBSD_WEEKLY_SERIES.length} images`;
  return [
    row({
      group,
      measure: 'wall time (virtual)',
      reference: boundSeconds / 60,
      referenceLabel: 'DeregisterImage bucket, regions in parallel',
      result: ours.virtualMs / 60_000,
      unit: 'min',
      maxRatio: 1.05,
    }),
    row({
      group,
      measure: 'API calls',
      reference: minimumCalls,
      referenceLabel: 'one per deletion + inventory pages',
      result: ours.calls,
      unit: 'calls',
      maxRatio: 1.01,
    }),
    row({
      group,
      measure: 'errors surfaced',
      reference: 0,
      referenceLabel: `${ours.throttled} throttled and retried`,
      result: ours.surfaced,
      unit: '',
      maxRatio: 1,
    }),
    row({
      group,
      measure: 'survivors not the expected set',
      reference: 0,
      referenceLabel: 'the planner on the seeded fleet',
      result: ours.mismatchedSurvivors,
      unit: '',
      maxRatio: 1,
    }),
    row({
      group,
      measure: 'Lambda slices',
      reference: minimumSlices,
      referenceLabel: '15-minute invocations the work needs',
      result: ours.slices,
      unit: '',
    }),
    row({
      group,
      measure: 'peers’ strategy, wall time (virtual)',
      reference: ours.virtualMs / 60_000,
      referenceLabel: 'this pipeline',
      result: peer.virtualMs / 60_000,
      unit: 'min',
      note: peer.stoppedBy
        ? `stopped at the first error: ${peer.stoppedBy}`
        : `${peer.calls} calls; measured in ${peer.regionsRun} regions, one after another, scaled to ${size.regions}`,
    }),
  ];
}
