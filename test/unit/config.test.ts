import fc from 'fast-check';
import {
  cronProblem,
  defaultConfig,
  instanceTypeArchitecture,
  mergeConfig,
  parseConfig,
  setAtPath,
} from '../../lambdas/core/config';
import { ConfigError } from '../../lambdas/core/errors';

function configError(raw: unknown): string {
  try {
    parseConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be rejected`);
}

describe('default configuration', () => {
  test('describes the FreeBSD weekly pipeline', () => {
    const config = defaultConfig();

    expect(config.buildRegion).toBe('us-east-1');
    expect(config.series.lines).toEqual(['13-STABLE', '14-STABLE', '15-CURRENT']);
    expect(config.series.arches).toEqual(['amd64', 'arm64']);
    expect(config.series.filesystems).toEqual(['ufs', 'zfs']);
    expect(config.series.flavours).toEqual(['base', 'cloud-init', 'small', 'builder']);
    expect(config.bootTest.instanceTypes.arm64).toEqual(['c6g.large', 'c7g.large', 'c8g.large']);
    expect(config.bootTest.instanceTypes.amd64).toEqual(['c5.large', 'c7i.large', 'm7a.large']);
    expect(config.retention).toMatchObject({ keepNewest: 4, minAgeDays: 90, prereleaseGraceDays: 30 });
    expect(config.safety).toMatchObject({ dryRun: true, maxDeleteShare: 0.5 });
    expect(config.publish.ssmPrefix).toBe('/ami-pipeline/freebsd');
  });

  test('keeps values given for some fields and defaults the rest of the section', () => {
    const config = parseConfig({ publish: { deprecateAfterDays: 180 }, retention: { keepNewest: 6 } });

    expect(config.publish.deprecateAfterDays).toBe(180);
    expect(config.publish.makeAmiPublic).toBe(true);
    expect(config.retention.keepNewest).toBe(6);
    expect(config.retention.minAgeDays).toBe(90);
  });
});

describe('region names in the configuration', () => {
  test('accepts regions AWS may open later, as long as they are spelt like region names', () => {
    const config = parseConfig({
      buildRegion: 'ap-southeast-9',
      regions: { allow: ['ap-southeast-9', 'eu-future-1'], deny: ['us-gov-west-1', 'xx-nowhere-3'] },
    });

    expect(config.buildRegion).toBe('ap-southeast-9');
    expect(config.regions.allow).toEqual(['ap-southeast-9', 'eu-future-1']);
    expect(config.regions.deny).toEqual(['us-gov-west-1', 'xx-nowhere-3']);
  });
});

describe('bad configuration names the field, the bad value and what is allowed', () => {
  test.each([
    [
      'a build region that is not a region name',
      { buildRegion: 'mars-1' },
      'buildRegion: "mars-1" is not a region name; a region name looks like us-east-1',
    ],
    [
      'a malformed name in the allow list',
      { regions: { allow: ['us-east-1', 'eu west 1'] } },
      'regions.allow.1: "eu west 1" is not a region name',
    ],
    [
      'a gov region allowed',
      { regions: { allow: ['us-gov-west-1'] } },
      'regions.allow.0: us-gov-west-1 is in partition aws-us-gov; the pipeline works in the commercial partition (aws) only',
    ],
    [
      'an empty arm64 type list',
      { bootTest: { instanceTypes: { arm64: [] } } },
      'bootTest.instanceTypes.arm64: list at least one arm64 instance type (got [])',
    ],
    [
      'an arm64 type under amd64',
      { bootTest: { instanceTypes: { amd64: ['c7i.large', 'c7g.large'] } } },
      'bootTest.instanceTypes.amd64.1: "c7g.large" is an arm64 instance type; only amd64 types belong here',
    ],
    [
      'an x86 type under arm64',
      { bootTest: { instanceTypes: { arm64: ['m7a.large'] } } },
      '"m7a.large" is an amd64 instance type; only arm64 types belong here',
    ],
    [
      'a malformed instance type',
      { bootTest: { instanceTypes: { arm64: ['c7g large'] } } },
      '"c7g large" is not an instance type name like c7g.large',
    ],
    [
      'a negative retention',
      { retention: { minAgeDays: -1 } },
      'retention.minAgeDays: retention.minAgeDays cannot be negative (got -1)',
    ],
    [
      'keeping zero builds',
      { retention: { keepNewest: 0 } },
      'retention.keepNewest: keep at least the newest build of each series (got 0)',
    ],
    [
      'a fractional day count',
      { retention: { prereleaseGraceDays: 1.5 } },
      'retention.prereleaseGraceDays: retention.prereleaseGraceDays must be a whole number of days (got 1.5)',
    ],
    [
      'a five-field cron',
      { schedules: { publish: 'cron(0 6 * * SAT)' } },
      'schedules.publish: cron expression "cron(0 6 * * SAT)" has 5 fields; EventBridge cron needs 6',
    ],
    [
      'a cron without "?"',
      { schedules: { prune: 'cron(0 6 * * SAT *)' } },
      'one of day-of-month or day-of-week must be "?"',
    ],
    [
      'a crontab line',
      { schedules: { prune: '0 6 * * 6' } },
      'must look like cron(Minutes Hours Day-of-month Month Day-of-week Year)',
    ],
    ['an hour out of range', { schedules: { digest: 'cron(0 25 ? * SUN *)' } }, 'field hours "25" is not valid'],
    [
      'a bad e-mail',
      { notifications: { emails: ['freebsd-snapshots.example.org'] } },
      'notifications.emails.0: not an e-mail address (got "freebsd-snapshots.example.org")',
    ],
    [
      'an unknown field',
      { publish: { makePublic: true } },
      'publish: unknown field(s) makePublic; allowed: makeAmiPublic',
    ],
    [
      'an unknown top-level field',
      { buildregion: 'us-east-1' },
      '(top level): unknown field(s) buildregion; allowed: managedTag, buildRegion',
    ],
    ['an unknown flavour', { series: { flavours: ['base', 'minimal'] } }, 'series.flavours.1'],
    [
      'a bad development line',
      { series: { lines: ['15.0-CURRENT'] } },
      'a development line is written like 14-STABLE or 15-CURRENT',
    ],
    [
      'a deprecation beyond two years',
      { publish: { deprecateAfterDays: 900 } },
      'AWS deprecates public AMIs within 2 years (got 900)',
    ],
    [
      'an SSM prefix with a trailing slash',
      { publish: { ssmPrefix: '/freebsd/' } },
      'an SSM path starts with / and has no trailing /',
    ],
    [
      'the reserved /aws SSM prefix',
      { publish: { ssmPrefix: '/aws/service/freebsd' } },
      'the /aws prefix is reserved by AWS',
    ],
    [
      'a share above one',
      { safety: { maxDeleteShare: 1.5 } },
      'safety.maxDeleteShare: a share is between 0 and 1 (got 1.5)',
    ],
    ['a negative deletion cap', { safety: { maxDeletionsPerRun: -5 } }, 'safety.maxDeletionsPerRun cannot be negative'],
    ['a wrongly typed flag', { safety: { dryRun: 'no' } }, 'safety.dryRun'],
    [
      'a bad end-of-life date',
      { retention: { releaseEndOfLife: { '13.4': '30/06/2025' } } },
      'an end-of-life date is written YYYY-MM-DD',
    ],
    [
      'a development line end of life under a release version',
      { retention: { lineEndOfLife: { '13.4': '2026-04-30' } } },
      'retention.lineEndOfLife: "13.4" is not a development line: write it like 13-STABLE or 15-CURRENT',
    ],
    [
      'a bad development line end-of-life date',
      { retention: { lineEndOfLife: { '13-STABLE': 'April 2026' } } },
      'retention.lineEndOfLife.13-STABLE: an end-of-life date is written YYYY-MM-DD',
    ],
    [
      'the build region denied',
      { regions: { deny: ['us-east-1'] } },
      'regions.deny: the build region us-east-1 cannot be denied',
    ],
    [
      'a region both allowed and denied',
      { regions: { allow: ['eu-west-1'], deny: ['eu-west-1'] } },
      'eu-west-1 is both allowed and denied',
    ],
  ])('rejects %s', (_what, raw, expected) => {
    const message = configError(raw);

    expect(message).toContain(expected);
  });

  test('reports every bad field at once, not only the first', () => {
    const message = configError({
      buildRegion: 'nowhere',
      retention: { keepNewest: -2 },
      notifications: { emails: ['x'] },
    });

    expect(message.split('\n').filter((l) => l.startsWith('  '))).toHaveLength(3);
  });
});

describe('instance type architecture', () => {
  test.each([
    ['c6g.large', 'arm64'],
    ['c7gn.xlarge', 'arm64'],
    ['m6gd.large', 'arm64'],
    ['t4g.micro', 'arm64'],
    ['a1.large', 'arm64'],
    ['c8g.large', 'arm64'],
    ['im4gn.large', 'arm64'],
    ['g5g.xlarge', 'arm64'],
    ['c5.large', 'amd64'],
    ['c7i.large', 'amd64'],
    ['m7a.large', 'amd64'],
    ['c7i-flex.large', 'amd64'],
    ['m5zn.large', 'amd64'],
    ['g5.xlarge', 'amd64'],
    ['t3.micro', 'amd64'],
  ])('%s is %s', (type, arch) => {
    expect(instanceTypeArchitecture(type)).toBe(arch);
  });
});

describe('EventBridge cron validation', () => {
  test.each(['cron(0 6 ? * SAT *)', 'cron(30 * * * ? *)', 'cron(0 18 ? * SUN *)', 'cron(0/15 2-4 1 JAN,JUL ? 2027)'])(
    'accepts %s',
    (expression) => {
      expect(cronProblem(expression)).toBeUndefined();
    },
  );
});

describe('merging configuration sources', () => {
  test('later sources win field by field and arrays are replaced, not concatenated', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.emailAddress(), { maxLength: 3 }), (keep, emails) => {
        const merged = mergeConfig(
          { retention: { keepNewest: 4, minAgeDays: 10 }, notifications: { emails: ['a@example.org'] } },
          { retention: { keepNewest: keep }, notifications: { emails } },
        );
        expect(merged).toEqual({ retention: { keepNewest: keep, minAgeDays: 10 }, notifications: { emails } });
      }),
    );
  });

  test('dotted overrides set nested fields and parse JSON values', () => {
    const target: Record<string, unknown> = {};

    setAtPath(target, 'safety.dryRun', 'false');
    setAtPath(target, 'regions.allow', '["us-east-1","eu-west-1"]');
    setAtPath(target, 'notifications.subjectPrefix', '[FreeBSD]');

    expect(target).toEqual({
      safety: { dryRun: false },
      regions: { allow: ['us-east-1', 'eu-west-1'] },
      notifications: { subjectPrefix: '[FreeBSD]' },
    });
  });
});
