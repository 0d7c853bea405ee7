import fc from 'fast-check';
import { isRegionName, partitionOf, regionNameProblem, selectRegions } from '../../lambdas/core/regions';

/** Commercial region names, the newest included: the code itself keeps no list. */
const COMMERCIAL_REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-2', 'ap-southeast-7', 'mx-central-1'];

const described = [
  { name: 'us-east-1', optInStatus: 'opt-in-not-required' },
  { name: 'eu-west-1', optInStatus: 'opt-in-not-required' },
  { name: 'ap-east-1', optInStatus: 'not-opted-in' },
  { name: 'me-south-1', optInStatus: 'opted-in' },
  { name: 'us-gov-west-1', optInStatus: 'opt-in-not-required' },
  { name: 'cn-north-1', optInStatus: 'opt-in-not-required' },
];

describe('region selection', () => {
  test('keeps enabled commercial regions and says why every other region is out', () => {
    const selection = selectRegions(described, { allow: [], deny: [] });

    expect(selection.selected).toEqual(['eu-west-1', 'me-south-1', 'us-east-1']);
    expect(Object.fromEntries(selection.decisions.map((d) => [d.region, d.reason]))).toEqual({
      'ap-east-1': 'opt-in status is not-opted-in',
      'cn-north-1': 'partition aws-cn is not the commercial partition',
      'eu-west-1': 'enabled in the account',
      'me-south-1': 'enabled in the account',
      'us-east-1': 'enabled in the account',
      'us-gov-west-1': 'partition aws-us-gov is not the commercial partition',
    });
  });

  test('reports an allowed region that the account has not enabled', () => {
    const selection = selectRegions(described.slice(0, 2), { allow: ['us-east-1', 'ap-south-2'], deny: [] });

    expect(selection.selected).toEqual(['us-east-1']);
    expect(selection.decisions).toContainEqual({
      region: 'ap-south-2',
      selected: false,
      reason: 'listed in regions.allow but not enabled in the account',
    });
  });

  test('never selects a denied, non-commercial or not-opted-in region, and every decision has a reason', () => {
    const region = fc.oneof(fc.constantFrom(...COMMERCIAL_REGIONS), fc.constantFrom('us-gov-east-1', 'cn-northwest-1'));
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ name: region, optInStatus: fc.constantFrom('opt-in-not-required', 'opted-in', 'not-opted-in') }),
        ),
        fc.array(fc.constantFrom(...COMMERCIAL_REGIONS), { maxLength: 5 }),
        fc.array(fc.constantFrom(...COMMERCIAL_REGIONS), { maxLength: 5 }),
        (regions, allow, deny) => {
          const selection = selectRegions(regions, { allow, deny });
          for (const name of selection.selected) {
            expect(deny).not.toContain(name);
            expect(partitionOf(name)).toBe('aws');
            if (allow.length > 0) expect(allow).toContain(name);
            const first = regions.find((r) => r.name === name);
            expect(first?.optInStatus).not.toBe('not-opted-in');
          }
          expect(new Set(selection.selected).size).toBe(selection.selected.length);
          for (const decision of selection.decisions) expect(decision.reason.length).toBeGreaterThan(0);
        },
      ),
    );
  });
});

describe('regions a run names', () => {
  const described = ['us-east-1', 'eu-west-1', 'eu-west-3', 'ap-south-2'].map((name) => ({
    name,
    optInStatus: name === 'ap-south-2' ? 'not-opted-in' : 'opt-in-not-required',
  }));

  test('narrow the configured regions and never widen them', () => {
    const selection = selectRegions(described, {
      allow: ['us-east-1', 'eu-west-1'],
      deny: [],
      requested: ['eu-west-1', 'eu-west-3', 'ap-south-2', 'xx-nowhere-1'],
    });

    expect(selection.selected).toEqual(['eu-west-1']);
    expect(selection.decisions).toEqual(
      expect.arrayContaining([
        { region: 'us-east-1', selected: false, reason: 'not named by this run' },
        { region: 'eu-west-3', selected: false, reason: 'not listed in regions.allow' },
        { region: 'ap-south-2', selected: false, reason: 'opt-in status is not-opted-in' },
        { region: 'xx-nowhere-1', selected: false, reason: 'named by this run but not enabled' },
      ]),
    );
  });

  test('whatever is named, a denied region is never selected', () => {
    fc.assert(
      fc.property(
        fc.subarray(described.map((d) => d.name)),
        fc.subarray(described.map((d) => d.name)),
        (requested, deny) => {
          const { selected } = selectRegions(described, { allow: [], deny, requested });
          for (const region of selected) {
            expect(deny).not.toContain(region);
            if (requested.length) expect(requested).toContain(region);
          }
        },
      ),
    );
  });
});

describe('region names', () => {
  test.each(['us-east-1', 'ap-southeast-7', 'us-gov-west-1', 'cn-northwest-1', 'us-isob-east-1', 'eusc-de-east-1'])(
    'accepts %s, spelt as AWS spells regions',
    (name) => {
      expect(isRegionName(name)).toBe(true);
      expect(regionNameProblem(name)).toBeUndefined();
    },
  );

  test.each(['mars-1', 'us-east', 'US-EAST-1', 'us-east-1a', 'useast1', ' us-east-1', 'us-east-0'])(
    'rejects %s, naming it',
    (name) => {
      expect(isRegionName(name)).toBe(false);
      expect(regionNameProblem(name)).toBe(
        `"${name}" is not a region name; a region name looks like us-east-1 or ap-southeast-2`,
      );
    },
  );

  test('places the sovereign-cloud partition apart from the commercial one', () => {
    expect(partitionOf('eusc-de-east-1')).toBe('aws-eusc');
  });
});

describe('names the account does not report', () => {
  test('are warned about, allowed, denied or named, and never selected', () => {
    const selection = selectRegions(described, {
      allow: ['us-east-1', 'ap-future-1'],
      deny: ['eu-wets-1'],
      requested: ['us-east-1', 'sa-future-2'],
    });

    expect(selection.selected).toEqual(['us-east-1']);
    expect(selection.warnings).toEqual([
      'regions.allow lists ap-future-1, which the account does not report (not open yet, not enabled, or misspelt); the run leaves them out until it does',
      'regions.deny lists eu-wets-1, which the account does not report (not open yet, not enabled, or misspelt)',
      'this run names sa-future-2, which the account does not report (not open yet, not enabled, or misspelt)',
    ]);
  });

  test('give no warning when every name is reported', () => {
    const selection = selectRegions(described, { allow: ['us-east-1'], deny: ['eu-west-1'], requested: ['us-east-1'] });

    expect(selection.warnings).toEqual([]);
  });
});
