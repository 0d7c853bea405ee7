import { defaultConfig } from '../../lambdas/core/config';
import { freebsdProfile } from '../../lambdas/core/naming';
import { classifySeries } from '../../lambdas/core/series';

const series = defaultConfig().series;
const classify = (name: string, overrides: Partial<typeof series> = {}) =>
  classifySeries(freebsdProfile.parse(name), { ...series, ...overrides });

describe('series classification', () => {
  test.each([
    'FreeBSD 15.0-CURRENT-amd64-20241226 base UFS',
    'FreeBSD 14.3-STABLE-arm64-20250710 cloud-init ZFS',
    'FreeBSD 14.3-RELEASE-arm64 cloud-init ZFS',
    'FreeBSD 15.0-BETA2-amd64 small ZFS',
    'FreeBSD 14.2-PRERELEASE-amd64-20241024 builder UFS',
  ])('manages %s under the default configuration', (name) => {
    expect(classify(name)).toMatchObject({ managed: true });
  });

  test.each([
    ['FreeBSD 12.4-STABLE-amd64-20231201 base UFS', {}, 'line 12-STABLE not in series.lines'],
    ['FreeBSD 12.4-RELEASE-amd64 base UFS', {}, 'major version 12 has no line in series.lines'],
    ['FreeBSD 14.3-RELEASE-amd64 base UFS', { includeReleases: false }, 'release images are excluded'],
    [
      'FreeBSD 15.0-CURRENT-arm64-20241226 base UFS',
      { arches: ['amd64' as const] },
      'architecture arm64 not in series.arches',
    ],
    [
      'FreeBSD 15.0-CURRENT-amd64-20241226 base ZFS',
      { filesystems: ['ufs' as const] },
      'file system zfs not in series.filesystems',
    ],
    [
      'FreeBSD 15.0-CURRENT-amd64-20241226 small UFS',
      { flavours: ['base' as const] },
      'flavour small not in series.flavours',
    ],
    ['Ubuntu 24.04 LTS', {}, 'unmanaged name: '],
  ])('leaves %s alone with a reason', (name, overrides, reason) => {
    const decision = classify(name, overrides);

    expect(decision.managed).toBe(false);
    expect(decision.managed ? '' : decision.reason).toContain(reason);
  });
});
