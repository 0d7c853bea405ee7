import {
  type Instance,
  type Volume,
  DeleteVolumeCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  EC2Client,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import {
  cleanupRun,
  deleteVolume,
  sweepTestResources,
  terminateInstances,
  VolumeCleanupError,
} from '../../lambdas/aws/boot/cleanup';
import { type Clock, RateLimiter, unlimited } from '../../lambdas/aws/rate-limiter';
import { TAG } from '../../lambdas/core/tags';

const REGION = 'us-east-1';
const MANAGED = { key: 'ami-pipeline:managed-by', value: 'ami-pipeline' };
const WAITS = { cycleTimeoutMs: 10_000, pollMs: 1_000 };
const ec2Mock = mockClient(EC2Client);
const ec2 = new EC2Client({ region: REGION });

/** The boot adapters' context in the test region, through the mocked client, on `clock`. */
function inRegion(clock: Clock) {
  return { ec2, limiter: unlimited, clock, region: REGION };
}

/**
 * Virtual time: sleeping advances the clock at once, so a cleanup's waits run in microseconds. A cleanup still
 * waiting an hour after it started has lost its bound (every wait here is seconds), so that fails at once.
 */
function virtualClock(): Clock & { slept: number[] } {
  let at = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => at,
    sleep: async (ms: number) => {
      slept.push(ms);
      at += ms;
      if (at > 3_600_000) throw new Error('still waiting after an hour: the cycle timeout was not kept');
    },
  };
}

function awsError(code: string): Error {
  return Object.assign(new Error(`${code} (simulated)`), { name: code });
}

function instance(id: string, state: string, launchTime?: Date, runId = 'run-1'): Instance {
  return {
    InstanceId: id,
    State: { Name: state as NonNullable<Instance['State']>['Name'] },
    LaunchTime: launchTime,
    Tags: [{ Key: TAG.bootTest, Value: runId }],
  };
}

function volume(id: string, state: string, createTime?: Date): Volume {
  return {
    VolumeId: id,
    State: state as Volume['State'],
    CreateTime: createTime,
    Tags: [{ Key: TAG.bootTest, Value: 'run-1' }],
  };
}

/** Answers DescribeVolumes by tag filter with `pages` in turn, and by id with `byId` (a volume gone by default). */
function volumes(pages: object[], byId: (id: string) => Promise<object> = async () => ({ Volumes: [] })) {
  let page = 0;
  ec2Mock
    .on(DescribeVolumesCommand)
    .callsFake(async (input: { VolumeIds?: string[] }) =>
      input.VolumeIds ? byId(input.VolumeIds[0]!) : pages[Math.min(page++, pages.length - 1)],
    );
}

const sent = <T>(command: new (...args: never[]) => T) =>
  ec2Mock.commandCalls(command as never).map((call) => call.args[0].input as Record<string, unknown>);

afterEach(() => ec2Mock.reset());

describe('terminating test instances', () => {
  test('terminates every instance in one call and reports each as terminated', async () => {
    // Prepare
    ec2Mock.on(TerminateInstancesCommand).resolves({});

    // Act
    const outcome = await terminateInstances({ ec2, limiter: unlimited, region: REGION }, ['i-1', 'i-2']);

    // Assess
    expect(sent(TerminateInstancesCommand)).toEqual([{ InstanceIds: ['i-1', 'i-2'] }]);
    expect(outcome).toEqual({ succeeded: ['i-1', 'i-2'], failed: [] });
  });

  test('asks nothing of EC2 when there is nothing to terminate', async () => {
    // Act
    const outcome = await terminateInstances({ ec2, limiter: unlimited, region: REGION }, []);

    // Assess
    expect(ec2Mock.calls()).toHaveLength(0);
    expect(outcome).toEqual({ succeeded: [], failed: [] });
  });

  test('one unknown id does not spare the others: they are terminated one by one, a gone one counts as terminated', async () => {
    // Prepare
    ec2Mock
      .on(TerminateInstancesCommand)
      .rejects(awsError('InvalidInstanceID.NotFound'))
      .on(TerminateInstancesCommand, { InstanceIds: ['i-live'] })
      .resolves({})
      .on(TerminateInstancesCommand, { InstanceIds: ['i-broken'] })
      .rejects(awsError('UnauthorizedOperation'));

    // Act
    const outcome = await terminateInstances({ ec2, limiter: unlimited, region: REGION }, [
      'i-gone',
      'i-live',
      'i-broken',
    ]);

    // Assess
    expect(sent(TerminateInstancesCommand).map((input) => input.InstanceIds)).toEqual([
      ['i-gone', 'i-live', 'i-broken'],
      ['i-gone'],
      ['i-live'],
      ['i-broken'],
    ]);
    expect(outcome.succeeded).toEqual(['i-gone', 'i-live']);
    expect(outcome.failed).toEqual([
      { id: 'i-broken', region: REGION, error: 'UnauthorizedOperation (simulated)', code: 'UnauthorizedOperation' },
    ]);
  });

  test('a malformed id counts as gone, like a missing one', async () => {
    // Prepare
    ec2Mock.on(TerminateInstancesCommand).rejects(awsError('InvalidInstanceID.Malformed'));

    // Act
    const outcome = await terminateInstances({ ec2, limiter: unlimited, region: REGION }, ['i-x']);

    // Assess
    expect(outcome).toEqual({ succeeded: ['i-x'], failed: [] });
  });
});

describe('deleting a test volume', () => {
  test('deletes an available volume', async () => {
    // Prepare
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [volume('vol-1', 'available')] });
    ec2Mock.on(DeleteVolumeCommand).resolves({});

    // Act
    await deleteVolume(inRegion(virtualClock()), 'vol-1', WAITS);

    // Assess
    expect(sent(DescribeVolumesCommand)).toEqual([{ VolumeIds: ['vol-1'] }]);
    expect(sent(DeleteVolumeCommand)).toEqual([{ VolumeId: 'vol-1' }]);
  });

  test.each([
    ['not listed', {}],
    ['deleted', { Volumes: [volume('vol-1', 'deleted')] }],
    ['deleting', { Volumes: [volume('vol-1', 'deleting')] }],
  ])('a volume %s is done without a delete', async (_state, answer) => {
    // Prepare
    ec2Mock.on(DescribeVolumesCommand).resolves(answer);

    // Act
    await deleteVolume(inRegion(virtualClock()), 'vol-1', WAITS);

    // Assess
    expect(sent(DeleteVolumeCommand)).toEqual([]);
  });

  test('a volume EC2 no longer knows is done; any other error of the lookup is raised', async () => {
    // Prepare
    ec2Mock.on(DescribeVolumesCommand, { VolumeIds: ['vol-gone'] }).rejects(awsError('InvalidVolume.NotFound'));
    ec2Mock.on(DescribeVolumesCommand, { VolumeIds: ['vol-denied'] }).rejects(awsError('UnauthorizedOperation'));

    // Act
    const gone = deleteVolume(inRegion(virtualClock()), 'vol-gone', WAITS);
    const denied = deleteVolume(inRegion(virtualClock()), 'vol-denied', WAITS);

    // Assess
    await expect(gone).resolves.toBeUndefined();
    await expect(denied).rejects.toThrow('UnauthorizedOperation');
    expect(sent(DeleteVolumeCommand)).toEqual([]);
  });

  test('a delete that finds the volume gone is done', async () => {
    // Prepare
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [volume('vol-1', 'available')] });
    ec2Mock.on(DeleteVolumeCommand).rejects(awsError('InvalidVolume.NotFound'));
    const clock = virtualClock();

    // Act
    await deleteVolume(inRegion(clock), 'vol-1', WAITS);

    // Assess
    expect(sent(DeleteVolumeCommand)).toHaveLength(1);
    expect(clock.slept).toEqual([]);
  });

  test('force-detaches an attached volume from its instance, waits a poll interval, then deletes it', async () => {
    // Prepare
    ec2Mock
      .on(DescribeVolumesCommand)
      .resolvesOnce({
        Volumes: [{ ...volume('vol-1', 'in-use'), Attachments: [{ InstanceId: 'i-1', Device: '/dev/sdf' }] }],
      })
      .resolves({ Volumes: [volume('vol-1', 'available')] });
    ec2Mock.on(DetachVolumeCommand).resolves({});
    ec2Mock.on(DeleteVolumeCommand).resolves({});
    const clock = virtualClock();

    // Act
    await deleteVolume(inRegion(clock), 'vol-1', WAITS);

    // Assess
    expect(sent(DetachVolumeCommand)).toEqual([
      { VolumeId: 'vol-1', InstanceId: 'i-1', Device: '/dev/sdf', Force: true },
    ]);
    expect(clock.slept).toEqual([WAITS.pollMs]);
    expect(sent(DeleteVolumeCommand)).toEqual([{ VolumeId: 'vol-1' }]);
  });

  test('a detach that fails is tried again while time is left, and raised once the cycle timeout is spent', async () => {
    // Prepare
    ec2Mock.on(DescribeVolumesCommand).resolves({
      Volumes: [{ ...volume('vol-1', 'in-use'), Attachments: [{ InstanceId: 'i-1', Device: '/dev/sdf' }] }],
    });
    ec2Mock.on(DetachVolumeCommand).rejects(awsError('IncorrectState'));
    const clock = virtualClock();

    // Act
    const error = await deleteVolume(inRegion(clock), 'vol-1', WAITS).catch((e: Error) => e);

    // Assess
    expect((error as Error).name).toBe('IncorrectState');
    expect(sent(DetachVolumeCommand)).toHaveLength(WAITS.cycleTimeoutMs / WAITS.pollMs + 1);
    expect(clock.now()).toBe(WAITS.cycleTimeoutMs);
  });

  test('a delete that fails is tried again each poll, and its error raised once the cycle timeout is spent', async () => {
    // Prepare
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [volume('vol-1', 'available')] });
    ec2Mock.on(DeleteVolumeCommand).rejectsOnce(awsError('VolumeInUse')).resolves({});
    const retried = virtualClock();

    // Act
    await deleteVolume(inRegion(retried), 'vol-1', WAITS);
    ec2Mock.on(DeleteVolumeCommand).rejects(awsError('VolumeInUse'));
    const exhausted = virtualClock();
    const error = await deleteVolume(inRegion(exhausted), 'vol-1', WAITS).catch((e: Error) => e);

    // Assess
    expect(retried.slept).toEqual([WAITS.pollMs]);
    expect((error as Error).name).toBe('VolumeInUse');
    expect(exhausted.now()).toBe(WAITS.cycleTimeoutMs);
  });

  test('a volume stuck attaching past the cycle timeout fails with its id and state, for the sweeper to retry', async () => {
    // Prepare
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [volume('vol-1', 'creating')] });
    const clock = virtualClock();

    // Act
    const error = await deleteVolume(inRegion(clock), 'vol-1', WAITS).catch((e: Error) => e);

    // Assess
    expect(error).toBeInstanceOf(VolumeCleanupError);
    expect((error as Error).message).toBe('volume vol-1 still creating after 10 s');
    expect(clock.now()).toBe(WAITS.cycleTimeoutMs);
    expect(sent(DeleteVolumeCommand)).toEqual([]);
    expect(sent(DetachVolumeCommand)).toEqual([]);
  });
});

describe("a run's cleanup", () => {
  test('finds live instances and volumes by the managed tag and the run tag, page by page, and removes them', async () => {
    // Prepare
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [instance('i-1', 'running')] }], NextToken: 'page-2' })
      .resolves({ Reservations: [{ Instances: [instance('i-2', 'stopped')] }] });
    volumes([
      { Volumes: [volume('vol-1', 'available')], NextToken: 'page-2' },
      { Volumes: [volume('vol-2', 'available'), volume('vol-3', 'deleting')] },
    ]);
    ec2Mock.on(TerminateInstancesCommand).resolves({});

    // Act
    const report = await cleanupRun({ ...inRegion(virtualClock()), managed: MANAGED, waits: WAITS }, 'run-1');

    // Assess
    const byTag = [
      { Name: `tag:${MANAGED.key}`, Values: [MANAGED.value] },
      { Name: `tag:${TAG.bootTest}`, Values: ['run-1'] },
    ];
    const live = {
      Name: 'instance-state-name',
      Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'],
    };
    expect(sent(DescribeInstancesCommand)).toEqual([
      { Filters: [...byTag, live], NextToken: undefined },
      { Filters: [...byTag, live], NextToken: 'page-2' },
    ]);
    expect(sent(DescribeVolumesCommand).filter((input) => input.Filters)).toEqual([
      { Filters: byTag, NextToken: undefined },
      { Filters: byTag, NextToken: 'page-2' },
    ]);
    expect(sent(TerminateInstancesCommand)).toEqual([{ InstanceIds: ['i-1', 'i-2'] }]);
    expect(report.found.map((r) => [r.kind, r.id, r.runId, r.state])).toEqual([
      ['instance', 'i-1', 'run-1', 'running'],
      ['instance', 'i-2', 'run-1', 'stopped'],
      ['volume', 'vol-1', 'run-1', 'available'],
      ['volume', 'vol-2', 'run-1', 'available'],
    ]);
    expect(report.terminated).toEqual(['i-1', 'i-2']);
    expect(report.volumesDeleted).toEqual(['vol-1', 'vol-2']);
    expect(report.failed).toEqual([]);
  });

  test('leaves an instance already shutting down alone and reports a volume it could not delete', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [instance('i-ending', 'shutting-down'), instance('i-1', 'running')] }],
    });
    volumes([{ Volumes: [volume('vol-1', 'in-use')] }], async () => {
      throw awsError('UnauthorizedOperation');
    });
    ec2Mock.on(TerminateInstancesCommand).resolves({});

    // Act
    const report = await cleanupRun({ ...inRegion(virtualClock()), managed: MANAGED, waits: WAITS }, 'run-1');

    // Assess
    expect(sent(TerminateInstancesCommand)).toEqual([{ InstanceIds: ['i-1'] }]);
    expect(report.terminated).toEqual(['i-1']);
    expect(report.volumesDeleted).toEqual([]);
    expect(report.failed).toEqual([
      { id: 'vol-1', region: REGION, error: 'UnauthorizedOperation (simulated)', code: 'UnauthorizedOperation' },
    ]);
  });
  test('reports an instance it could not terminate, and reads each run id from the run tag among the others', async () => {
    // Prepare
    const tagged = (found: Instance): Instance => ({
      ...found,
      Tags: [{ Key: MANAGED.key, Value: MANAGED.value }, ...(found.Tags ?? []), { Key: 'Name', Value: 'boot test' }],
    });
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [tagged(instance('i-1', 'running'))] }] });
    volumes([{ Volumes: [] }]);
    ec2Mock.on(TerminateInstancesCommand).rejects(awsError('UnauthorizedOperation'));

    // Act
    const report = await cleanupRun({ ...inRegion(virtualClock()), managed: MANAGED, waits: WAITS }, 'run-1');

    // Assess
    expect(report.found.map((r) => [r.id, r.runId])).toEqual([['i-1', 'run-1']]);
    expect(report.terminated).toEqual([]);
    expect(report.failed).toEqual([
      { id: 'i-1', region: REGION, error: 'UnauthorizedOperation (simulated)', code: 'UnauthorizedOperation' },
    ]);
  });
});

describe('request tokens', () => {
  test('every call of a cleanup takes a token of its own action’s bucket, and one per call', async () => {
    // Prepare: a run whose cleanup pages instances and volumes, terminates, detaches an attached volume and deletes.
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [instance('i-1', 'running')] }], NextToken: 'page-2' })
      .resolves({ Reservations: [] });
    const attached = { ...volume('vol-1', 'in-use'), Attachments: [{ InstanceId: 'i-1', Device: '/dev/sdf' }] };
    let looks = 0;
    volumes([{ Volumes: [attached], NextToken: 'page-2' }, { Volumes: [] }], async () =>
      looks++ === 0 ? { Volumes: [attached] } : { Volumes: [volume('vol-1', 'available')] },
    );
    ec2Mock.on(TerminateInstancesCommand).resolves({});
    ec2Mock.on(DetachVolumeCommand).resolves({});
    ec2Mock.on(DeleteVolumeCommand).resolves({});
    const taken: string[] = [];
    const limiter = new RateLimiter(
      { nonMutating: { burst: Number.POSITIVE_INFINITY, perSecond: Number.POSITIVE_INFINITY } },
      virtualClock(),
    );
    const take = limiter.take.bind(limiter);
    limiter.take = (where: string, action: string) => {
      taken.push(`${where} ${action}`);
      return take(where, action);
    };

    // Act
    const report = await cleanupRun({ ...inRegion(virtualClock()), limiter, managed: MANAGED, waits: WAITS }, 'run-1');

    // Assess
    const calls = ec2Mock.calls().map((call) => `${REGION} ${call.args[0].constructor.name.replace(/Command$/, '')}`);
    expect(report.volumesDeleted).toEqual(['vol-1']);
    expect(new Set(calls)).toEqual(
      new Set(
        ['DescribeInstances', 'DescribeVolumes', 'TerminateInstances', 'DetachVolume', 'DeleteVolume'].map(
          (action) => `${REGION} ${action}`,
        ),
      ),
    );
    expect(taken.sort()).toEqual(calls.sort());
  });
});

describe('the sweeper', () => {
  const OLDER_THAN = new Date('2026-03-07T03:00:00Z');

  test('reads every page of tagged volumes', async () => {
    // Prepare
    const before = new Date(OLDER_THAN.getTime() - 1);
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    volumes([
      { Volumes: [volume('vol-a', 'available', before)], NextToken: 'page-2' },
      { Volumes: [volume('vol-b', 'available', before)] },
    ]);
    ec2Mock.on(DeleteVolumeCommand).resolves({});

    // Act
    const report = await sweepTestResources(
      { ...inRegion(virtualClock()), managed: MANAGED, waits: WAITS },
      OLDER_THAN,
    );

    // Assess
    expect(
      sent(DescribeVolumesCommand)
        .filter((input) => input.Filters)
        .map((input) => input.NextToken),
    ).toEqual([undefined, 'page-2']);
    expect(report.volumesDeleted).toEqual(['vol-a', 'vol-b']);
  });

  test('removes only tagged test resources created before the bound, and reports only those', async () => {
    // Prepare
    const before = new Date(OLDER_THAN.getTime() - 1);
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            instance('i-stale', 'running', before, 'run-old'),
            instance('i-at-bound', 'running', OLDER_THAN, 'run-new'),
            instance('i-unknown-age', 'running', undefined, 'run-new'),
          ],
        },
      ],
    });
    volumes([{ Volumes: [volume('vol-stale', 'available', before), volume('vol-fresh', 'available', new Date())] }]);
    ec2Mock.on(TerminateInstancesCommand).resolves({});

    // Act
    const report = await sweepTestResources(
      { ...inRegion(virtualClock()), managed: MANAGED, waits: WAITS },
      OLDER_THAN,
    );

    // Assess
    expect(sent(DescribeInstancesCommand)[0]!.Filters).toEqual([
      { Name: `tag:${MANAGED.key}`, Values: [MANAGED.value] },
      { Name: 'tag-key', Values: [TAG.bootTest] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] },
    ]);
    expect(report.found.map((r) => [r.id, r.runId, r.createdAt])).toEqual([
      ['i-stale', 'run-old', before.toISOString()],
      ['vol-stale', 'run-1', before.toISOString()],
    ]);
    expect(sent(TerminateInstancesCommand)).toEqual([{ InstanceIds: ['i-stale'] }]);
    expect(report.terminated).toEqual(['i-stale']);
    expect(report.volumesDeleted).toEqual(['vol-stale']);
  });
});
