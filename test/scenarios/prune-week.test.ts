import type { ExecutionReport } from '../../bin/local/engine';
import { synthesizeTemplate } from '../../bin/local/pipeline';
import { parseConfig } from '../../lambdas/core/config';
import { freebsdProfile } from '../../lambdas/core/naming';
import { type AwsSim, createAwsSim, runInVirtualTime } from '../../scripts/aws-sim';
import { DEFAULT_FLEET_SERIES } from '../support/fleet';
import { simulatedPipeline } from '../support/sim-pipeline';
import { AWS_LIMITS } from '../../bin/local/engine';
import { DAY_MS } from '../../lambdas/core/time';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'sa-east-1'];
const START = new Date('2026-03-07T06:00:00Z');
const WEEKS = 60;
const configInput = {
  regions: { allow: REGIONS },
  safety: { dryRun: false, maxDeleteShare: 1, maxDeletionsPerRun: 5000 },
};

/** The builds a region keeps: the newest four of each series, and everything younger than 90 days. */
function expectedSurvivors(sim: AwsSim, region: string): string[] {
  return sim.inspect
    .images(region)
    .filter((image) => {
      const parsed = freebsdProfile.parse(image.name);
      if (!parsed.managed || !parsed.buildDate) return true;
      const age = (START.getTime() - Date.parse(`${parsed.buildDate}T00:00:00Z`)) / DAY_MS;
      const newer = sim.inspect.images(region).filter((other) => {
        const o = freebsdProfile.parse(other.name);
        return o.managed && o.lineKey === parsed.lineKey && (o.buildDate ?? '') > parsed.buildDate!;
      }).length;
      return age < 90 || newer < 4;
    })
    .map((image) => image.imageId)
    .sort();
}

describe('a prune of a year of weekly builds in 4 regions, on the simulated AWS in virtual time', () => {
  let sim: AwsSim;
  let first: ExecutionReport;
  let second: ExecutionReport;
  let expected: Record<string, string[]>;
  let survivors: Record<string, string[]>;
  let virtualMinutes: number;

  beforeAll(async () => {
    synthesizeTemplate(parseConfig(configInput));
    sim = createAwsSim({ seed: 11 });
    const run = await runInVirtualTime(
      async () => {
        sim.seed.fleet({ regions: REGIONS, series: DEFAULT_FLEET_SERIES, weeks: WEEKS, newestBuildDate: '2026-03-06' });
        expected = Object.fromEntries(REGIONS.map((r) => [r, expectedSurvivors(sim, r)]));
        const pipeline = await simulatedPipeline(sim, configInput);
        first = await pipeline.prune({}).done;
        survivors = Object.fromEntries(
          REGIONS.map((r) => [
            r,
            sim.inspect
              .images(r)
              .map((i) => i.imageId)
              .sort(),
          ]),
        );
        second = await pipeline.prune({}).done;
      },
      { start: START, seedMathRandom: 5 },
    );
    virtualMinutes = run.virtualMs / 60_000;
  });

  test('keeps exactly the builds the retention rules keep, in every region', () => {
    expect(first.status).toBe('SUCCEEDED');
    expect(survivors).toEqual(expected);
  });

  test('stays under AWS’s request buckets and within Step Functions’ limits', () => {
    expect(sim.counters.throttled()).toBe(0);
    expect(first.largestPayload.bytes).toBeLessThan(AWS_LIMITS.payloadBytes);
    expect(first.historyEventCount).toBeLessThan(AWS_LIMITS.historyEvents);
    // Regions run in parallel; each deregisters at 5 per second after a burst of 100 (its snapshots go with it).
    const perRegion = Math.max(...REGIONS.map((r) => sim.counters.calls({ operation: 'DeregisterImage', region: r })));
    const boundMinutes = (perRegion - 100) / 5 / 60;
    expect(perRegion).toBeGreaterThan(250);
    expect(virtualMinutes).toBeGreaterThanOrEqual(boundMinutes);
    expect(virtualMinutes).toBeLessThan(boundMinutes * 1.5 + 1);
  });

  test('a second run the same week deletes nothing', () => {
    expect(second.status).toBe('SUCCEEDED');
    expect((second.output as { summary: { summary: { imagesDeregistered: number } } }).summary.summary).toMatchObject({
      imagesDeregistered: 0,
    });
  });
});
