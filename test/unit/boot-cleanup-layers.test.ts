import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RunInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { BootRunTable, RUN_KEYS } from '../../lambdas/aws/boot/runs';
import { unlimited } from '../../lambdas/aws/rate-limiter';
import { handler as cleanup } from '../../lambdas/boot/cleanup';
import { handler as inspect } from '../../lambdas/boot/inspect';
import { BOOT_ENV } from '../../lambdas/boot/schemas';
import type { LaunchSpec } from '../../lambdas/core/boot/plan';
import { defaultConfig } from '../../lambdas/core/config';
import { TAG } from '../../lambdas/core/tags';
import { CONFIG_ENV } from '../../lambdas/shared/env';
import { type Clock, runInvocation } from '../../lambdas/shared/invocation';
import { createAwsSim } from '../../scripts/aws-sim';
import { runInVirtualTime } from '../../scripts/aws-sim/virtual-time';

// Two layers end every test instance: judging a launch terminates its instance at once (its vCPUs are needed by the
// launches still waiting), and the run's cleanup terminates whatever carries the run's tag. Each is checked alone.
const REGION = 'us-east-1';
const RUN = 'weekly-1';
const TABLE = 'boot-runs';
const START = new Date('2026-03-07T06:00:00Z');

type Sim = ReturnType<typeof createAwsSim>;
type Invoke = <R>(functionName: string, handler: () => Promise<R>) => Promise<R>;

/** Runs `body` on a simulated account holding one launched test instance of run `RUN`, recorded in its run table. */
async function withOneInstance<T>(
  body: (ctx: {
    sim: Sim;
    instanceId: string;
    invoke: Invoke;
    logs: Record<string, unknown>[];
    runs: BootRunTable;
    key: string;
  }) => Promise<T>,
) {
  const sim = createAwsSim({ physics: 'off' });
  const logs: Record<string, unknown>[] = [];
  const clients = sim.clientFactory();
  const { result } = await runInVirtualTime(
    async () => {
      const [image] = sim.seed.fleet({
        regions: [REGION],
        series: ['15.0-CURRENT/amd64/base/ufs'],
        weeks: 1,
        newestBuildDate: '2026-03-06',
      });
      const [subnet] = sim.seed.subnets(REGION);
      sim.seed.table(REGION, TABLE, { partition: RUN_KEYS.partition, sort: RUN_KEYS.sort });
      const { managedTag } = defaultConfig();
      const launched = await clients.client(EC2Client, REGION).send(
        new RunInstancesCommand({
          ImageId: image!.imageId,
          InstanceType: 'c7i.large',
          MinCount: 1,
          MaxCount: 1,
          SubnetId: subnet!.subnetId,
          TagSpecifications: [
            {
              ResourceType: 'instance',
              Tags: [
                { Key: managedTag.key, Value: managedTag.value },
                { Key: TAG.bootTest, Value: RUN },
              ],
            },
          ],
        }),
      );
      const instanceId = launched.Instances![0]!.InstanceId!;
      const clock: Clock = sim.clock;
      const runs = new BootRunTable(clients.client(DynamoDBClient, REGION), TABLE, clock);
      const spec = {
        key: `${image!.imageId}/c7i.large/0`,
        imageId: image!.imageId,
        instanceType: 'c7i.large',
        round: 0,
      };
      await runs.putPlan({ runId: RUN, request: {}, skippedImages: [], batchSizes: [1], plannedAt: clock.now() }, [
        [spec as LaunchSpec],
      ]);
      await runs.setOutcome(
        RUN,
        { batch: 0, slot: 1 },
        {
          status: 'launched',
          key: spec.key,
          instanceId,
          subnetId: subnet!.subnetId,
          runInstancesStartedAt: clock.now(),
          runInstancesReturnedAt: clock.now(),
          reason: 'launched',
        },
      );
      const invoke: Invoke = (functionName, handler) =>
        runInvocation(
          {
            functionName,
            env: {
              [CONFIG_ENV]: '{}',
              [BOOT_ENV.runTable]: TABLE,
              [BOOT_ENV.network]: 'isolated',
              [BOOT_ENV.subnets]: subnet!.subnetId,
              [BOOT_ENV.securityGroups]: 'sg-0123456789abcdef0',
            },
            clock,
            remainingMs: () => 900_000,
            services: { clients, limiter: unlimited, logSink: (line: string) => logs.push(JSON.parse(line)) },
          },
          handler,
        );
      return body({ sim, instanceId, invoke, logs, runs, key: spec.key });
    },
    { start: START, seedMathRandom: 1 },
  );
  return result;
}

const ended = (state: string | undefined) => state === 'shutting-down' || state === 'terminated';

describe('the layers that end test instances', () => {
  test('judging a launch terminates its instance at once, even when a step before it failed', async () => {
    // Act
    const { judged, state } = await withOneInstance(async ({ sim, instanceId, invoke }) => {
      const judged = await invoke('BootInspect', () =>
        inspect({ runId: RUN, batch: 0, slot: 1, failure: { Error: 'States.Timeout' } }),
      );
      return { judged, state: sim.inspect.instances(REGION).find((i) => i.instanceId === instanceId)?.state };
    });

    // Assess
    expect(judged.status).toBe('failed');
    expect(ended(state)).toBe(true);
  });

  test("the run's cleanup terminates an instance no judgement ended", async () => {
    // Act
    const { state, report } = await withOneInstance(async ({ sim, instanceId, invoke }) => {
      const report = await invoke('BootCleanup', () => cleanup({ runId: RUN }));
      return { report, state: sim.inspect.instances(REGION).find((i) => i.instanceId === instanceId)?.state };
    });

    // Assess
    expect(report).toEqual({ terminated: 1, volumesDeleted: 0 });
    expect(ended(state)).toBe(true);
  });

  test('judging a launch that got no instance records its failure and terminates nothing', async () => {
    // Act
    const { judged, states, terminations } = await withOneInstance(async ({ sim, invoke, runs, key }) => {
      await runs.setOutcome(RUN, { batch: 0, slot: 1 }, { status: 'skipped', key, reason: 'no capacity' });
      const terminations = sim.fail({
        service: 'ec2',
        operation: 'TerminateInstances',
        times: Infinity,
        error: { code: 'UnauthorizedOperation' },
      });
      const judged = await invoke('BootInspect', () =>
        inspect({ runId: RUN, batch: 0, slot: 1, failure: { Error: 'States.TaskFailed' } }),
      );
      return { judged, states: sim.inspect.instances(REGION).map((i) => i.state), terminations };
    });

    // Assess
    expect(judged.status).toBe('failed');
    expect(states).toEqual(['running']);
    expect(terminations.hits).toBe(0);
  });

  test('judging says so in the log when its instance could not be terminated, and only then', async () => {
    // Act
    const logsOf = (refuse: boolean) =>
      withOneInstance(async ({ sim, invoke, logs }) => {
        if (refuse) {
          sim.fail({
            service: 'ec2',
            operation: 'TerminateInstances',
            times: Infinity,
            error: { code: 'UnauthorizedOperation' },
          });
        }
        await invoke('BootInspect', () =>
          inspect({ runId: RUN, batch: 0, slot: 1, failure: { Error: 'States.Timeout' } }),
        );
        return logs.filter((l) => l.level === 'warn');
      });
    const refused = await logsOf(true);
    const terminated = await logsOf(false);

    // Assess
    expect(refused).toEqual([
      expect.objectContaining({
        message: 'instance not terminated yet',
        region: REGION,
        failed: [expect.objectContaining({ code: 'UnauthorizedOperation' })],
      }),
    ]);
    expect(terminated).toEqual([]);
  });

  test("the run's cleanup logs what it removed, for the run", async () => {
    // Act
    const { logs, instanceId } = await withOneInstance(async ({ invoke, logs, instanceId }) => {
      await invoke('BootCleanup', () => cleanup({ runId: RUN }));
      return { logs, instanceId };
    });

    // Assess
    expect(logs).toContainEqual(
      expect.objectContaining({
        message: 'boot test cleaned up',
        region: REGION,
        runId: RUN,
        terminated: [instanceId],
      }),
    );
  });
});
