import { defaultConfig, parseConfig } from '../../lambdas/core/config';
import { ConfigError } from '../../lambdas/core/errors';
import { freebsdProfile } from '../../lambdas/core/naming';
import {
  batchLaunches,
  HISTORY_EVENT_BUDGET,
  historyEventEstimate,
  isNitro,
  launchClientToken,
  MAX_BATCH_SIZE,
  planBootTest,
  userDataFor,
} from '../../lambdas/core/boot/plan';

const images = [
  {
    imageId: 'ami-0a1',
    region: 'us-east-1',
    name: 'FreeBSD 15.0-CURRENT-amd64-20261126 base ZFS',
    description: 'FreeBSD/amd64 main@e4f5a6b',
  },
  { imageId: 'ami-0b2', region: 'us-east-1', name: 'FreeBSD 14.3-STABLE-arm64-20261126 cloud-init UFS' },
  { imageId: 'ami-0c3', region: 'us-east-1', name: 'my-own-image' },
];
const bootTest = defaultConfig().bootTest;

describe('boot test launch planner', () => {
  test('puts each image on every configured type of its architecture, with stop and hot-plug on the reference type', () => {
    const plan = planBootTest({ runId: 'weekly-20261128', images, config: bootTest, profile: freebsdProfile });

    expect(plan.rounds).toHaveLength(1);
    const launches = plan.rounds[0]!;
    expect(launches.map((l) => `${l.imageId} ${l.instanceType}`)).toEqual([
      'ami-0a1 c5.large',
      'ami-0a1 c7i.large',
      'ami-0a1 m7a.large',
      'ami-0b2 c6g.large',
      'ami-0b2 c7g.large',
      'ami-0b2 c8g.large',
    ]);
    expect(launches.filter((l) => l.checks.stop).map((l) => l.instanceType)).toEqual(['c5.large', 'c6g.large']);
    expect(launches.find((l) => l.instanceType === 'c5.large')!.checks.hotplugCycles).toBe(10);
    expect(launches.find((l) => l.instanceType === 'c7i.large')!.checks).toEqual({ stop: false, hotplugCycles: 0 });
    expect(launches[0]).toMatchObject({
      seriesKey: '15.0-CURRENT/amd64/base/zfs',
      arch: 'amd64',
      buildDate: '2026-11-26',
    });
    for (const launch of launches) expect(launch.reason.length).toBeGreaterThan(10);
    expect(plan.skipped).toEqual([
      { imageId: 'ami-0c3', name: 'my-own-image', reason: expect.stringMatching(/^name not understood/) },
    ]);
  });

  test('gives configinit user data to base images and cloud-config to cloud-init images', () => {
    const plan = planBootTest({ runId: 'r', images, config: bootTest, profile: freebsdProfile });
    const [amd64, arm64] = [plan.rounds[0]![0]!, plan.rounds[0]![3]!];

    expect(amd64.userData).toBe(userDataFor('base'));
    expect(amd64.userData).toMatch(/^>>\/etc\/rc.conf\n/);
    expect(amd64.userData).toContain('firstboot_freebsd_update_enable="NO"');
    expect(amd64.userData).toContain('firstboot_pkgs_enable="NO"');
    expect(arm64.userData).toMatch(/^#cloud-config\n/);
    expect(arm64.userData).toContain('package_upgrade: false');
  });

  test('repeats become rounds, checks run only in the first round, and client tokens are unique and repeatable', () => {
    const plan = planBootTest({ runId: 'r', images, config: bootTest, profile: freebsdProfile, runs: 3 });
    const again = planBootTest({ runId: 'r', images, config: bootTest, profile: freebsdProfile, runs: 3 });

    expect(plan.rounds.map((r) => r.length)).toEqual([6, 6, 6]);
    expect(plan.rounds[1]!.some((l) => l.checks.stop || l.checks.hotplugCycles > 0)).toBe(false);
    const tokens = plan.rounds.flat().map((l) => l.clientToken);
    expect(new Set(tokens).size).toBe(18);
    expect(again.rounds.flat().map((l) => l.clientToken)).toEqual(tokens);
    for (const token of tokens) expect(token).toMatch(/^[\x20-\x7e]{1,64}$/);
    expect(launchClientToken('other-run', 'ami-0a1', 'c5.large', 0)).not.toBe(plan.rounds[0]![0]!.clientToken);
    expect(plan.rounds[0]![0]!.reason).toContain('run 1 of 3 (cold boot, left out of the median)');
  });

  test('operator-named types go to the images of their architecture only', () => {
    const plan = planBootTest({
      runId: 'r',
      images,
      config: bootTest,
      profile: freebsdProfile,
      instanceTypes: ['c7g.xlarge', 'c7i.large'],
    });

    expect(plan.rounds[0]!.map((l) => `${l.imageId} ${l.instanceType}`)).toEqual([
      'ami-0a1 c7i.large',
      'ami-0b2 c7g.xlarge',
    ]);
  });

  test('an instance type of the wrong architecture is a configuration error, not a launch', () => {
    expect(() =>
      planBootTest({
        runId: 'r',
        images: [images[0]!],
        config: bootTest,
        profile: freebsdProfile,
        instanceTypes: ['c7g.large'],
      }),
    ).toThrow(ConfigError);
    expect(() =>
      planBootTest({
        runId: 'r',
        images: [images[0]!],
        config: bootTest,
        profile: freebsdProfile,
        instanceTypes: ['c7g.large'],
      }),
    ).toThrow(/ami-0a1 \(FreeBSD 15.0-CURRENT-amd64-20261126 base ZFS\) is amd64 but c7g.large is arm64/);
    expect(() =>
      planBootTest({ runId: 'r', images, config: bootTest, profile: freebsdProfile, instanceTypes: ['large'] }),
    ).toThrow(/not instance type names/);
  });

  test('a configured reference type moves the checks, and one outside the list is rejected with its field', () => {
    const config = parseConfig({ bootTest: { referenceTypes: { arm64: 'c8g.large' }, hotplugCycles: 100 } }).bootTest;
    const plan = planBootTest({ runId: 'r', images, config, profile: freebsdProfile });

    expect(plan.rounds[0]!.filter((l) => l.checks.hotplugCycles === 100).map((l) => l.instanceType)).toEqual([
      'c5.large',
      'c8g.large',
    ]);
    expect(() => parseConfig({ bootTest: { referenceTypes: { amd64: 'c7i.metal-24xl' } } })).toThrow(
      /bootTest.referenceTypes.amd64: "c7i.metal-24xl" is not one of bootTest.instanceTypes.amd64/,
    );
  });

  test('knows which types run on Nitro and so accept Latest=true console output', () => {
    expect(['c7g.large', 'c5.large', 'm7a.large', 't3.micro', 'i3.metal'].every(isNitro)).toBe(true);
    expect(['c4.large', 'm4.xlarge', 't2.micro', 'i3.large'].some(isNitro)).toBe(false);
  });
});

describe('batches and the size of an execution', () => {
  /** 48 builds of a week, on lines, architectures, flavours and file systems as FreeBSD names them. */
  const fleet = ['15.0-CURRENT', '14.3-STABLE', '13.5-STABLE', '14.2-STABLE']
    .flatMap((line) =>
      ['amd64', 'arm64'].flatMap((arch) =>
        ['base UFS', 'base ZFS', 'cloud-init UFS', 'cloud-init ZFS', 'small UFS', 'small ZFS', 'builder UFS'].map(
          (variant) => ({
            imageId: `ami-${line}-${arch}-${variant}`,
            region: 'us-east-1',
            name: `FreeBSD ${line}-${arch}-20261126 ${variant}`,
          }),
        ),
      ),
    )
    .slice(0, 48);
  const plan = (runs: number) =>
    planBootTest({ runId: 'weekly', images: fleet, config: bootTest, profile: freebsdProfile, runs });
  const shape = (runs: number) => {
    const batches = batchLaunches(plan(runs).rounds);
    return {
      batchSizes: batches.map((b) => b.length),
      checkedLaunches: batches.flat().filter((l) => l.checks.hotplugCycles > 0).length,
      hotplugCycles: bootTest.hotplugCycles,
    };
  };

  test('splits each round into batches no larger than a Map runs at once, as even as possible, in order', () => {
    const rounds = plan(2).rounds;

    const batches = batchLaunches(rounds);

    // 48 images on the 3 types of their architecture, twice: 144 launches a round, in 4 batches of 36 each.
    expect(batches.map((b) => b.length)).toEqual([36, 36, 36, 36, 36, 36, 36, 36]);
    expect(plan(2).skipped).toEqual([]);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(MAX_BATCH_SIZE);
    expect(batches.flat()).toEqual(rounds.flat());
    // Every repeat comes in a batch after all first boots.
    const firstRepeat = batches.findIndex((b) => b.some((l) => l.round === 1));
    expect(batches.slice(0, firstRepeat).flat()).toHaveLength(rounds[0]!.length);
  });

  test('a weekly run of 48 images on 6 types fits one execution with room to spare; ten repeats do not', () => {
    expect(shape(1)).toMatchObject({ checkedLaunches: 48 });
    expect(historyEventEstimate(shape(1))).toBe(21 + 4 * 33 + 144 * 21 + 48 * 14);
    expect(historyEventEstimate(shape(6))).toBeLessThan(HISTORY_EVENT_BUDGET);
    expect(historyEventEstimate(shape(10))).toBeGreaterThan(HISTORY_EVENT_BUDGET);
  });

  test('counts further hot-plug batches of a long hot-plug check', () => {
    const short = historyEventEstimate({ batchSizes: [1], checkedLaunches: 1, hotplugCycles: 10 });
    const long = historyEventEstimate({ batchSizes: [1], checkedLaunches: 1, hotplugCycles: 200 });

    expect(long - short).toBe(9 * 12);
  });
});
