import fc from 'fast-check';
import { COMMERCIAL_REGIONS, partitionOf, selectRegions } from '../../lambdas/core/regions';

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
