import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ClientFactory } from '../../lambdas/aws/clients';
import { DAY_MS } from '../../lambdas/core/time';
import { handler as plan } from '../../lambdas/prune/plan';
import { CONFIG_ENV } from '../../lambdas/shared/env';
import { runInvocation } from '../../lambdas/shared/invocation';
import { realClock } from '../../lambdas/aws/rate-limiter';
import { bundleFunction } from '../../lib/function-bundle';
import { seedFleet, weeklyFleet } from '../support/fleet';

const REGION = 'eu-south-1';
const CONFIG = JSON.stringify({ retention: { keepNewest: 2, minAgeDays: 0 }, safety: { maxDeleteShare: 1 } });
const EVENT = { regions: [REGION], options: { execute: false } };

/**
 * A function as `cdk deploy` ships it (lib/function-bundle.ts: tree-shaken SDK, schema keys rewritten by the
 * bundling plugin) against the emulator, beside the same handler run from source: EC2's requests (filters, paging)
 * and answers (images with their tags and block devices, snapshots) go through the bundle's schemas, so any value
 * the bundling changed shows as a different plan.
 */
describe('a bundled function against the emulator', () => {
  const clients = new ClientFactory({ maxAttempts: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'bundled-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(async () => {
    const newest = new Date(Date.now() - 2 * DAY_MS).toISOString().slice(0, 10);
    await seedFleet(
      clients,
      weeklyFleet({
        regions: [REGION],
        series: ['14.3-STABLE/amd64/base/ufs', '15.0-CURRENT/arm64/cloud-init/zfs'],
        weeks: 4,
        newestBuildDate: newest,
      }),
    );
    await bundleFunction('prune/plan.ts', dir);
  });

  test('plans exactly what the handler run from source plans', async () => {
    // Act: the bundle in a fresh Node.js process, as Lambda loads it; the source in this one.
    const script = `require(${JSON.stringify(join(dir, 'index.js'))}).handler(${JSON.stringify(EVENT)})
      .then((result) => process.stdout.write(JSON.stringify(result)))`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      env: { ...process.env, [CONFIG_ENV]: CONFIG, AWS_REGION: REGION, LOG_LEVEL: 'error' },
    });
    const bundled = JSON.parse(stdout) as Awaited<ReturnType<typeof plan>>;
    const fromSource = await runInvocation(
      {
        functionName: 'PrunePlanFunction',
        env: { [CONFIG_ENV]: CONFIG, LOG_LEVEL: 'error' },
        clock: realClock,
        remainingMs: () => 60_000,
        services: { clients },
      },
      () => plan(EVENT),
    );

    // Assess
    // The runs differ only in when they read the clock.
    const planned = ({ report: { now: _now, ...report }, ...rest }: typeof bundled) => ({ ...rest, report });
    expect(fromSource.report.totals.imagesDeregistered).toBeGreaterThan(0);
    expect(fromSource.report.regions[0]!.keptByReason['newest-builds']).toBeGreaterThan(0);
    expect(planned(bundled)).toEqual(JSON.parse(JSON.stringify(planned(fromSource))));
  });
});
