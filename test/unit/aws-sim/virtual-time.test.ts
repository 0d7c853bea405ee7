import { readFile } from 'node:fs/promises';
import { DescribeRegionsCommand, EC2ServiceException, EC2Client } from '@aws-sdk/client-ec2';
import { ClientFactory, type ClientPlugin } from '../../../lambdas/aws/clients';
import { RateLimiter } from '../../../lambdas/aws/rate-limiter';
import {
  DeadlockError,
  runInVirtualTime,
  VirtualTimeLimitError,
  virtualClock,
} from '../../../scripts/aws-sim/virtual-time';

const HOUR = 3600_000;
const START = new Date('2026-03-07T06:00:00Z');

describe('virtual time', () => {
  test('a 10-hour scenario of timers runs at least a thousand times faster than real time', async () => {
    const ticks: number[] = [];

    const report = await runInVirtualTime(
      async (run) => {
        // A poller every minute for ten hours, beside a few long sleeps.
        const poller = (async () => {
          for (let i = 0; i < 600; i++) {
            await run.sleep(60_000);
            ticks.push(Date.now());
          }
        })();
        await Promise.all([poller, run.sleep(4 * HOUR), run.sleep(10 * HOUR)]);
        return new Date().toISOString();
      },
      { start: START },
    );

    expect(report.result).toBe('2026-03-07T16:00:00.000Z');
    expect(report.virtualMs).toBe(10 * HOUR);
    expect(ticks).toHaveLength(600);
    expect(ticks[0]).toBe(START.getTime() + 60_000);
    expect(report.realMs * 1000).toBeLessThan(report.virtualMs);
  });

  test('orders timers by due time, whatever the order they were set in', async () => {
    const order: string[] = [];

    await runInVirtualTime(async () => {
      await Promise.all([
        new Promise<void>((resolve) => setTimeout(() => resolve(void order.push('late')), 3000)),
        new Promise<void>((resolve) => setTimeout(() => resolve(void order.push('early')), 1000)),
        new Promise<void>((resolve) => setImmediate(() => resolve(void order.push('now')))),
      ]);
    });

    expect(order).toEqual(['now', 'early', 'late']);
  });

  test('restores real timers and Date afterwards', async () => {
    const before = Date.now();

    await runInVirtualTime(async (run) => run.sleep(48 * HOUR), { start: START });

    expect(Math.abs(Date.now() - before)).toBeLessThan(5000);
    await new Promise((resolve) => setTimeout(resolve, 1));
  });

  test('reports a deadlock when the body waits and nothing is scheduled', async () => {
    const never = new Promise<void>(() => undefined);

    const outcome = runInVirtualTime(
      async (run) => {
        await run.sleep(5000);
        await never;
      },
      { start: START, realIoGraceMs: 20 },
    );

    await expect(outcome).rejects.toBeInstanceOf(DeadlockError);
    await expect(outcome).rejects.toMatchObject({ virtualNow: START.getTime() + 5000 });
  });

  test('stops an endless interval at the virtual-time budget', async () => {
    const outcome = runInVirtualTime(
      async () => {
        setInterval(() => undefined, 1000);
        await new Promise<void>(() => undefined);
      },
      { maxVirtualMs: HOUR },
    );

    await expect(outcome).rejects.toBeInstanceOf(VirtualTimeLimitError);
  });

  test('waits for real I/O before moving time on', async () => {
    const report = await runInVirtualTime(async (run) => {
      const started = run.now();
      const text = await readFile(__filename, 'utf8');
      return { text, elapsed: run.now() - started };
    });

    expect(report.result.text).toContain('waits for real I/O');
    expect(report.result.elapsed).toBe(0);
  });

  test('the exported clock follows virtual time inside a run and real time outside', async () => {
    const report = await runInVirtualTime(
      async () => {
        await virtualClock.sleep(90_000);
        return virtualClock.now();
      },
      { start: START },
    );

    expect(report.result).toBe(START.getTime() + 90_000);
    expect(Math.abs(virtualClock.now() - Date.now())).toBeLessThan(1000);
  });

  test("the pipeline's own rate limiter paces 200 calls by its bucket in virtual time", async () => {
    const report = await runInVirtualTime(async (run) => {
      const limiter = new RateLimiter({ nonMutating: { burst: 100, perSecond: 20 } }, run);
      await Promise.all(Array.from({ length: 200 }, () => limiter.take('us-east-1', 'DescribeImages')));
      return run.elapsedMs();
    });

    // 100 from the burst, then 100 more at 20 per second.
    expect(report.result).toBe(5000);
  });

  test("the SDK's retry backoff waits in virtual time", async () => {
    let attempts = 0;
    const throttleTwice: ClientPlugin = (stack) => {
      stack.addRelativeTo(
        () => async () => {
          attempts++;
          if (attempts <= 2)
            throw new EC2ServiceException({
              name: 'RequestLimitExceeded',
              $fault: 'client',
              $metadata: { httpStatusCode: 503 },
              message: 'Request limit exceeded.',
            });
          return { output: { $metadata: {}, Regions: [] }, response: {} };
        },
        { name: 'throttleTwice', relation: 'after', toMiddleware: 'retryMiddleware' },
      );
    };
    // A fresh client each time: the adaptive rate limiter keeps state per client.
    const clients = () =>
      new ClientFactory({ credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, plugins: [throttleTwice] });

    const once = () =>
      runInVirtualTime(
        async () => {
          const response = await clients().client(EC2Client, 'us-east-1').send(new DescribeRegionsCommand({}));
          return response.$metadata;
        },
        { start: START, seedMathRandom: 7 },
      );

    const report = await once();
    attempts = 0;
    const again = await once();

    expect(report.result.attempts).toBe(3);
    // Two throttling backoffs (1 s base, jittered) passed in virtual time, none in real time...
    expect(report.virtualMs).toBeGreaterThan(0);
    expect(report.realMs).toBeLessThan(2000);
    // ...and with Math.random seeded, the jitter is the same on every run.
    expect(again.virtualMs).toBe(report.virtualMs);
  });
});
