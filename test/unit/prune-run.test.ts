import { type PruneRunOptions, runPrune } from '../../lambdas/aws/prune';
import type { Clock } from '../../lambdas/aws/rate-limiter';
import { parseConfig, type PipelineConfigInput } from '../../lambdas/core/config';
import { TAG } from '../../lambdas/core/tags';
import { Logger } from '../../lambdas/shared/logger';
import { createAwsSim } from '../../scripts/aws-sim';
import { runInVirtualTime } from '../../scripts/aws-sim/virtual-time';

// One region of 16 weekly builds of one series on the simulated AWS: with the defaults (newest 4, 90 days) the
// 4 oldest builds are due, a share of 25 %, under the breaker's 50 %.
const REGION = 'us-east-1';
const NOW = new Date('2026-03-07T06:00:00Z');
const DUE = 4;

async function pruneOnce(
  configInput: PipelineConfigInput,
  options: Partial<Pick<PruneRunOptions, 'execute' | 'budgetMs' | 'overrideBreaker' | 'capBoundary'>> = {},
) {
  const sim = createAwsSim({ physics: 'off' });
  const clients = sim.clientFactory();
  const run = await runInVirtualTime(
    async () => {
      sim.seed.fleet({
        regions: [REGION],
        series: ['15.0-CURRENT/amd64/base/ufs'],
        weeks: 16,
        newestBuildDate: '2026-03-01',
      });
      // A clock that moves only when told to: the budget is then the only thing that ends the batch.
      const clock: Clock = { now: () => 1_000, sleep: async () => undefined };
      return runPrune({ config: parseConfig(configInput), clients, now: NOW, regions: [REGION], clock, ...options });
    },
    { start: NOW, seedMathRandom: 1 },
  );
  return { result: run.result, images: sim.inspect.images(REGION) };
}

describe('a prune run', () => {
  test('only plans while safety.dryRun is on, and says it was a dry run', async () => {
    // Act
    const { result, images } = await pruneOnce({ safety: { dryRun: true } });

    // Assess
    expect(result.executed).toBe(false);
    expect(result.executions).toEqual([]);
    expect(result.report.dryRun).toBe(true);
    expect(result.plan.regions[0]!.images.filter((i) => i.action === 'deregister')).toHaveLength(DUE);
    expect(images).toHaveLength(16);
  });

  test('deletes once safety.dryRun is off, and an explicit execute overrides the dry run', async () => {
    // Act
    const configured = await pruneOnce({ safety: { dryRun: false } });
    const forced = await pruneOnce({ safety: { dryRun: true } }, { execute: true });

    // Assess
    for (const { result, images } of [configured, forced]) {
      expect(result.executed).toBe(true);
      expect(result.report.dryRun).toBe(false);
      expect(result.executions[0]!.deregistered).toHaveLength(DUE);
      expect(images).toHaveLength(16 - DUE);
      expect(result.complete).toBe(true);
    }
  });

  test('an explicit dry run wins over safety.dryRun off', async () => {
    // Act
    const { result, images } = await pruneOnce({ safety: { dryRun: false } }, { execute: false });

    // Assess
    expect(result.executed).toBe(false);
    expect(images).toHaveLength(16);
  });

  test('a spent time budget starts no deletion and leaves the run incomplete; a budget left lets it finish', async () => {
    // Act
    const spent = await pruneOnce({ safety: { dryRun: false } }, { budgetMs: 0 });
    const left = await pruneOnce({ safety: { dryRun: false } }, { budgetMs: 500 });

    // Assess
    expect(spent.result.complete).toBe(false);
    expect(spent.result.executions[0]!.deregistered).toEqual([]);
    expect(spent.images).toHaveLength(16);
    expect(left.result.complete).toBe(true);
    expect(left.images).toHaveLength(16 - DUE);
  });

  test('soft-deleted images are tagged with the day their grace ends', async () => {
    // Act
    const { result, images } = await pruneOnce({ safety: { dryRun: false }, retention: { softDeleteGraceDays: 10 } });

    // Assess
    expect(result.executions[0]!.softDeleted).toHaveLength(DUE);
    const due = images.flatMap((i) => (i.tags[TAG.deleteAfter] ? [i.tags[TAG.deleteAfter]] : []));
    expect(due).toEqual(Array(DUE).fill('2026-03-17'));
  });

  test('hands the operator’s breaker override and cap boundary to the plan', async () => {
    // Prepare: the 4 builds due are 25 % of the region, over a share of 10 %.
    const config = { safety: { maxDeleteShare: 0.1 } };
    const refused = await pruneOnce(config);
    const overridden = await pruneOnce(config, { overrideBreaker: true });
    const [, second] = overridden.result.plan.regions[0]!.images.filter((i) => i.action === 'deregister');
    const boundary = `${second!.ageDate}|${REGION}|${second!.imageId}`;

    // Act
    const continued = await pruneOnce(config, { overrideBreaker: true, capBoundary: boundary });

    // Assess
    expect(refused.result.plan.regions[0]!.breaker.tripped).toBe(true);
    expect(overridden.result.plan.regions[0]!.breaker.overridden).toBe(true);
    expect(continued.result.plan.capBoundary).toBe(boundary);
    expect(continued.result.plan.regions[0]!.images.filter((i) => i.action === 'deregister')).toHaveLength(2);
  });

  test('is complete only when every region finished its batch', async () => {
    // Prepare: a spent budget stops the region with builds due; the other has nothing to delete and finishes.
    const sim = createAwsSim({ physics: 'off' });
    const clock: Clock = { now: () => 1_000, sleep: async () => undefined };

    // Act
    const run = await runInVirtualTime(
      async () => {
        sim.seed.fleet({
          regions: [REGION],
          series: ['15.0-CURRENT/amd64/base/ufs'],
          weeks: 16,
          newestBuildDate: '2026-03-01',
        });
        sim.seed.fleet({
          regions: ['us-west-2'],
          series: ['15.0-CURRENT/amd64/base/ufs'],
          weeks: 4,
          newestBuildDate: '2026-03-01',
        });
        return runPrune({
          config: parseConfig({ safety: { dryRun: false } }),
          clients: sim.clientFactory(),
          now: NOW,
          regions: [REGION, 'us-west-2'],
          clock,
          budgetMs: 0,
        });
      },
      { start: NOW, seedMathRandom: 1 },
    );

    // Assess
    expect(Object.fromEntries(run.result.executions.map((e) => [e.region, e.complete]))).toEqual({
      [REGION]: false,
      'us-west-2': true,
    });
    expect(run.result.complete).toBe(false);
  });

  async function pruneWith(weeks: number, options: Partial<PruneRunOptions> & Pick<PruneRunOptions, 'config'>) {
    const sim = createAwsSim({ physics: 'off' });
    const run = await runInVirtualTime(
      async () => {
        sim.seed.fleet({
          regions: [REGION],
          series: ['15.0-CURRENT/amd64/base/ufs'],
          weeks,
          newestBuildDate: '2026-03-01',
        });
        return runPrune({ clients: sim.clientFactory(), now: NOW, regions: [REGION], ...options });
      },
      { start: NOW, seedMathRandom: 1 },
    );
    return run.result;
  }

  test('measures its time budget on the clock it is given', async () => {
    // Prepare: each reading of this clock is a second later, so a budget of 2.5 s ends the batch early.
    let at = 0;
    const clock: Clock = { now: () => (at += 1_000), sleep: async () => undefined };

    // Act
    const result = await pruneWith(16, { config: parseConfig({ safety: { dryRun: false } }), clock, budgetMs: 2_500 });

    // Assess
    expect(result.complete).toBe(false);
    expect(result.executions[0]!.deregistered.length).toBeLessThan(DUE);
  });

  test('without a limiter given, paces its calls with AWS’s buckets', async () => {
    // Prepare: more builds due than the 100-call burst of DeregisterImage.
    let slept = 0;
    const clock: Clock = {
      now: () => slept,
      sleep: async (ms) => {
        slept += ms;
      },
    };
    const config = parseConfig({ safety: { dryRun: false, maxDeleteShare: 1 } });

    // Act
    const result = await pruneWith(130, { config, clock });

    // Assess: past its burst of 100, DeregisterImage's bucket refills 5 calls a second.
    const due = result.plan.regions[0]!.images.filter((i) => i.action === 'deregister').length;
    expect(due).toBeGreaterThan(100);
    expect(result.executions[0]!.deregistered).toHaveLength(due);
    expect(slept).toBeGreaterThanOrEqual(((due - 100) / 5) * 1_000 - 1);
  });

  test('logs what it planned and what it did', async () => {
    // Prepare
    const lines: Record<string, unknown>[] = [];
    const logger = new Logger({}, 'info', (line) => lines.push(JSON.parse(line)));

    // Act
    await pruneWith(16, { config: parseConfig({ safety: { dryRun: false } }), logger });

    // Assess
    const messages = lines.map(({ timestamp: _at, region: _region, ...line }) => line);
    expect(messages).toContainEqual({
      level: 'info',
      message: 'prune planned',
      regions: 1,
      deferred: 0,
      execute: true,
    });
    expect(messages).toContainEqual({
      level: 'info',
      message: 'prune finished',
      imagesDeregistered: DUE,
      snapshotsDeleted: DUE,
      gibReclaimed: expect.any(Number),
      remainingOverCap: 0,
      failures: 0,
      dryRun: false,
    });
  });
});
