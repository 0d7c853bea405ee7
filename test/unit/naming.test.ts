import fc from 'fast-check';
import { ConfigError } from '../../lambdas/core/errors';
import {
  compareBuilds,
  FREEBSD_BOOT_METHODS,
  FREEBSD_FLAVOURS,
  type FreebsdNameFields,
  freebsdProfile,
  ImageNameFormatError,
  type ImageProvenance,
  type NamingProfileId,
  namingProfile,
  type ParsedImageName,
} from '../../lambdas/core/naming';

type Expected = Omit<ParsedImageName, 'managed' | 'profile' | 'name'>;

// Names FreeBSD's release tooling has produced (design notes, fixtures, release mails, names seen in other tools'
// filters) and names of the same shape for every branch kind, so each rule of the grammar has a real example.
const ACCEPTED: ReadonlyArray<readonly [string, Expected]> = [
  [
    'FreeBSD 15.0-CURRENT-amd64-20241226 base UFS',
    {
      seriesKey: '15.0-CURRENT/amd64/base/ufs',
      lineKey: '15-CURRENT/amd64/base/ufs',
      kind: 'snapshot',
      version: '15.0',
      branch: 'CURRENT',
      arch: 'amd64',
      flavour: 'base',
      fs: 'ufs',
      buildDate: '2024-12-26',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 15.0-CURRENT-arm64-20250102 cloud-init ZFS',
    {
      seriesKey: '15.0-CURRENT/arm64/cloud-init/zfs',
      lineKey: '15-CURRENT/arm64/cloud-init/zfs',
      kind: 'snapshot',
      version: '15.0',
      branch: 'CURRENT',
      arch: 'arm64',
      flavour: 'cloud-init',
      fs: 'zfs',
      buildDate: '2025-01-02',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 15.0-CURRENT-amd64-20240229 small UFS',
    {
      seriesKey: '15.0-CURRENT/amd64/small/ufs',
      lineKey: '15-CURRENT/amd64/small/ufs',
      kind: 'snapshot',
      version: '15.0',
      branch: 'CURRENT',
      arch: 'amd64',
      flavour: 'small',
      fs: 'ufs',
      buildDate: '2024-02-29',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 15.0-CURRENT-arm64-20241226 builder UFS',
    {
      seriesKey: '15.0-CURRENT/arm64/builder/ufs',
      lineKey: '15-CURRENT/arm64/builder/ufs',
      kind: 'snapshot',
      version: '15.0',
      branch: 'CURRENT',
      arch: 'arm64',
      flavour: 'builder',
      fs: 'ufs',
      buildDate: '2024-12-26',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 16.0-CURRENT-arm64-20250911 small ZFS',
    {
      seriesKey: '16.0-CURRENT/arm64/small/zfs',
      lineKey: '16-CURRENT/arm64/small/zfs',
      kind: 'snapshot',
      version: '16.0',
      branch: 'CURRENT',
      arch: 'arm64',
      flavour: 'small',
      fs: 'zfs',
      buildDate: '2025-09-11',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 14.2-STABLE-arm64-20250102 builder UFS',
    {
      seriesKey: '14.2-STABLE/arm64/builder/ufs',
      lineKey: '14-STABLE/arm64/builder/ufs',
      kind: 'snapshot',
      version: '14.2',
      branch: 'STABLE',
      arch: 'arm64',
      flavour: 'builder',
      fs: 'ufs',
      buildDate: '2025-01-02',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 14.3-STABLE-amd64-20250703 base ZFS',
    {
      seriesKey: '14.3-STABLE/amd64/base/zfs',
      lineKey: '14-STABLE/amd64/base/zfs',
      kind: 'snapshot',
      version: '14.3',
      branch: 'STABLE',
      arch: 'amd64',
      flavour: 'base',
      fs: 'zfs',
      buildDate: '2025-07-03',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 14.2-STABLE-amd64-20241231 UEFI cloud-init ZFS',
    {
      seriesKey: '14.2-STABLE/amd64/cloud-init/zfs/uefi',
      lineKey: '14-STABLE/amd64/cloud-init/zfs/uefi',
      kind: 'snapshot',
      version: '14.2',
      branch: 'STABLE',
      arch: 'amd64',
      flavour: 'cloud-init',
      fs: 'zfs',
      buildDate: '2024-12-31',
      bootMethod: 'UEFI',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 13.5-STABLE-amd64-20250306 UEFI base UFS',
    {
      seriesKey: '13.5-STABLE/amd64/base/ufs/uefi',
      lineKey: '13-STABLE/amd64/base/ufs/uefi',
      kind: 'snapshot',
      version: '13.5',
      branch: 'STABLE',
      arch: 'amd64',
      flavour: 'base',
      fs: 'ufs',
      buildDate: '2025-03-06',
      bootMethod: 'UEFI',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 14.0-STABLE-arm64-20231130 UEFI-PREFERRED base UFS',
    {
      seriesKey: '14.0-STABLE/arm64/base/ufs',
      lineKey: '14-STABLE/arm64/base/ufs',
      kind: 'snapshot',
      version: '14.0',
      branch: 'STABLE',
      arch: 'arm64',
      flavour: 'base',
      fs: 'ufs',
      buildDate: '2023-11-30',
      bootMethod: 'UEFI-PREFERRED',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 14.3-PRERELEASE-arm64-20250501 base UFS',
    {
      seriesKey: '14.3-PRERELEASE/arm64/base/ufs',
      lineKey: '14-STABLE/arm64/base/ufs',
      kind: 'snapshot',
      version: '14.3',
      branch: 'PRERELEASE',
      arch: 'arm64',
      flavour: 'base',
      fs: 'ufs',
      buildDate: '2025-05-01',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 14.3-PRERELEASE-amd64 cloud-init UFS',
    {
      seriesKey: '14.3-PRERELEASE/amd64/cloud-init/ufs',
      lineKey: '14-RELEASE/amd64/cloud-init/ufs',
      kind: 'prerelease',
      version: '14.3',
      branch: 'PRERELEASE',
      arch: 'amd64',
      flavour: 'cloud-init',
      fs: 'ufs',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 15.0-ALPHA1-amd64 base UFS',
    {
      seriesKey: '15.0-ALPHA1/amd64/base/ufs',
      lineKey: '15-RELEASE/amd64/base/ufs',
      kind: 'prerelease',
      version: '15.0',
      branch: 'ALPHA1',
      arch: 'amd64',
      flavour: 'base',
      fs: 'ufs',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 15.0-ALPHA3-arm64 cloud-init UFS',
    {
      seriesKey: '15.0-ALPHA3/arm64/cloud-init/ufs',
      lineKey: '15-RELEASE/arm64/cloud-init/ufs',
      kind: 'prerelease',
      version: '15.0',
      branch: 'ALPHA3',
      arch: 'arm64',
      flavour: 'cloud-init',
      fs: 'ufs',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 15.0-BETA2-amd64 small ZFS',
    {
      seriesKey: '15.0-BETA2/amd64/small/zfs',
      lineKey: '15-RELEASE/amd64/small/zfs',
      kind: 'prerelease',
      version: '15.0',
      branch: 'BETA2',
      arch: 'amd64',
      flavour: 'small',
      fs: 'zfs',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 14.3-BETA1-arm64 base ZFS',
    {
      seriesKey: '14.3-BETA1/arm64/base/zfs',
      lineKey: '14-RELEASE/arm64/base/zfs',
      kind: 'prerelease',
      version: '14.3',
      branch: 'BETA1',
      arch: 'arm64',
      flavour: 'base',
      fs: 'zfs',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 14.3-RC1-amd64 cloud-init ZFS',
    {
      seriesKey: '14.3-RC1/amd64/cloud-init/zfs',
      lineKey: '14-RELEASE/amd64/cloud-init/zfs',
      kind: 'prerelease',
      version: '14.3',
      branch: 'RC1',
      arch: 'amd64',
      flavour: 'cloud-init',
      fs: 'zfs',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 14.2-RC2-arm64 small UFS',
    {
      seriesKey: '14.2-RC2/arm64/small/ufs',
      lineKey: '14-RELEASE/arm64/small/ufs',
      kind: 'prerelease',
      version: '14.2',
      branch: 'RC2',
      arch: 'arm64',
      flavour: 'small',
      fs: 'ufs',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 14.3-RELEASE-arm64 cloud-init ZFS',
    {
      seriesKey: '14.3-RELEASE/arm64/cloud-init/zfs',
      lineKey: '14-RELEASE/arm64/cloud-init/zfs',
      kind: 'release',
      version: '14.3',
      branch: 'RELEASE',
      arch: 'arm64',
      flavour: 'cloud-init',
      fs: 'zfs',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 14.3-RELEASE-amd64 base UFS',
    {
      seriesKey: '14.3-RELEASE/amd64/base/ufs',
      lineKey: '14-RELEASE/amd64/base/ufs',
      kind: 'release',
      version: '14.3',
      branch: 'RELEASE',
      arch: 'amd64',
      flavour: 'base',
      fs: 'ufs',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 14.3-RELEASE-amd64 builder UFS',
    {
      seriesKey: '14.3-RELEASE/amd64/builder/ufs',
      lineKey: '14-RELEASE/amd64/builder/ufs',
      kind: 'release',
      version: '14.3',
      branch: 'RELEASE',
      arch: 'amd64',
      flavour: 'builder',
      fs: 'ufs',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 14.1-RELEASE-amd64 BIOS base UFS',
    {
      seriesKey: '14.1-RELEASE/amd64/base/ufs/bios',
      lineKey: '14-RELEASE/amd64/base/ufs/bios',
      kind: 'release',
      version: '14.1',
      branch: 'RELEASE',
      arch: 'amd64',
      flavour: 'base',
      fs: 'ufs',
      bootMethod: 'BIOS',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 14.2-RELEASE-arm64 UEFI small ZFS',
    {
      seriesKey: '14.2-RELEASE/arm64/small/zfs/uefi',
      lineKey: '14-RELEASE/arm64/small/zfs/uefi',
      kind: 'release',
      version: '14.2',
      branch: 'RELEASE',
      arch: 'arm64',
      flavour: 'small',
      fs: 'zfs',
      bootMethod: 'UEFI',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 14.0-RELEASE-amd64 UEFI-PREFERRED base ZFS',
    {
      seriesKey: '14.0-RELEASE/amd64/base/zfs',
      lineKey: '14-RELEASE/amd64/base/zfs',
      kind: 'release',
      version: '14.0',
      branch: 'RELEASE',
      arch: 'amd64',
      flavour: 'base',
      fs: 'zfs',
      bootMethod: 'UEFI-PREFERRED',
      layout: 'current',
    },
  ],
  [
    'FreeBSD 12.1-STABLE-arm64-2020-04-09',
    {
      seriesKey: '12.1-STABLE/arm64/base/ufs',
      lineKey: '12-STABLE/arm64/base/ufs',
      kind: 'snapshot',
      version: '12.1',
      branch: 'STABLE',
      arch: 'arm64',
      flavour: 'base',
      fs: 'ufs',
      buildDate: '2020-04-09',
      layout: 'legacy',
      legacyDateStyle: 'dashed',
    },
  ],
  [
    'FreeBSD 12.0-STABLE-amd64-2019-03-07',
    {
      seriesKey: '12.0-STABLE/amd64/base/ufs',
      lineKey: '12-STABLE/amd64/base/ufs',
      kind: 'snapshot',
      version: '12.0',
      branch: 'STABLE',
      arch: 'amd64',
      flavour: 'base',
      fs: 'ufs',
      buildDate: '2019-03-07',
      layout: 'legacy',
      legacyDateStyle: 'dashed',
    },
  ],
  [
    'FreeBSD 13.0-CURRENT-amd64-2020-11-26',
    {
      seriesKey: '13.0-CURRENT/amd64/base/ufs',
      lineKey: '13-CURRENT/amd64/base/ufs',
      kind: 'snapshot',
      version: '13.0',
      branch: 'CURRENT',
      arch: 'amd64',
      flavour: 'base',
      fs: 'ufs',
      buildDate: '2020-11-26',
      layout: 'legacy',
      legacyDateStyle: 'dashed',
    },
  ],
  [
    'FreeBSD 12.2-PRERELEASE-amd64-2020-09-10',
    {
      seriesKey: '12.2-PRERELEASE/amd64/base/ufs',
      lineKey: '12-STABLE/amd64/base/ufs',
      kind: 'snapshot',
      version: '12.2',
      branch: 'PRERELEASE',
      arch: 'amd64',
      flavour: 'base',
      fs: 'ufs',
      buildDate: '2020-09-10',
      layout: 'legacy',
      legacyDateStyle: 'dashed',
    },
  ],
  [
    'FreeBSD 12.1-RELEASE-amd64',
    {
      seriesKey: '12.1-RELEASE/amd64/base/ufs',
      lineKey: '12-RELEASE/amd64/base/ufs',
      kind: 'release',
      version: '12.1',
      branch: 'RELEASE',
      arch: 'amd64',
      flavour: 'base',
      fs: 'ufs',
      layout: 'legacy',
    },
  ],
  [
    'FreeBSD 12.1-BETA3-arm64',
    {
      seriesKey: '12.1-BETA3/arm64/base/ufs',
      lineKey: '12-RELEASE/arm64/base/ufs',
      kind: 'prerelease',
      version: '12.1',
      branch: 'BETA3',
      arch: 'arm64',
      flavour: 'base',
      fs: 'ufs',
      layout: 'legacy',
    },
  ],
  [
    'FreeBSD 13.0-ALPHA1-arm64',
    {
      seriesKey: '13.0-ALPHA1/arm64/base/ufs',
      lineKey: '13-RELEASE/arm64/base/ufs',
      kind: 'prerelease',
      version: '13.0',
      branch: 'ALPHA1',
      arch: 'arm64',
      flavour: 'base',
      fs: 'ufs',
      layout: 'legacy',
    },
  ],
  [
    'FreeBSD 13.0-RC5-amd64',
    {
      seriesKey: '13.0-RC5/amd64/base/ufs',
      lineKey: '13-RELEASE/amd64/base/ufs',
      kind: 'prerelease',
      version: '13.0',
      branch: 'RC5',
      arch: 'amd64',
      flavour: 'base',
      fs: 'ufs',
      layout: 'legacy',
    },
  ],
  [
    'FreeBSD 13.0-RELEASE-amd64 UEFI',
    {
      seriesKey: '13.0-RELEASE/amd64/base/ufs/uefi',
      lineKey: '13-RELEASE/amd64/base/ufs/uefi',
      kind: 'release',
      version: '13.0',
      branch: 'RELEASE',
      arch: 'amd64',
      flavour: 'base',
      fs: 'ufs',
      bootMethod: 'UEFI',
      layout: 'legacy',
    },
  ],
  [
    'FreeBSD 13.5-RELEASE-amd64 BIOS',
    {
      seriesKey: '13.5-RELEASE/amd64/base/ufs/bios',
      lineKey: '13-RELEASE/amd64/base/ufs/bios',
      kind: 'release',
      version: '13.5',
      branch: 'RELEASE',
      arch: 'amd64',
      flavour: 'base',
      fs: 'ufs',
      bootMethod: 'BIOS',
      layout: 'legacy',
    },
  ],
  [
    'FreeBSD 13.4-RELEASE-amd64 UEFI-PREFERRED',
    {
      seriesKey: '13.4-RELEASE/amd64/base/ufs',
      lineKey: '13-RELEASE/amd64/base/ufs',
      kind: 'release',
      version: '13.4',
      branch: 'RELEASE',
      arch: 'amd64',
      flavour: 'base',
      fs: 'ufs',
      bootMethod: 'UEFI-PREFERRED',
      layout: 'legacy',
    },
  ],
  [
    'FreeBSD 14.0-CURRENT-amd64-20210520',
    {
      seriesKey: '14.0-CURRENT/amd64/base/ufs',
      lineKey: '14-CURRENT/amd64/base/ufs',
      kind: 'snapshot',
      version: '14.0',
      branch: 'CURRENT',
      arch: 'amd64',
      flavour: 'base',
      fs: 'ufs',
      buildDate: '2021-05-20',
      layout: 'legacy',
      legacyDateStyle: 'compact',
    },
  ],
  [
    'FreeBSD 13.1-STABLE-arm64-20220602 UEFI',
    {
      seriesKey: '13.1-STABLE/arm64/base/ufs/uefi',
      lineKey: '13-STABLE/arm64/base/ufs/uefi',
      kind: 'snapshot',
      version: '13.1',
      branch: 'STABLE',
      arch: 'arm64',
      flavour: 'base',
      fs: 'ufs',
      buildDate: '2022-06-02',
      bootMethod: 'UEFI',
      layout: 'legacy',
      legacyDateStyle: 'compact',
    },
  ],
  [
    'FreeBSD 13.2-PRERELEASE-amd64-20230302 UEFI-PREFERRED',
    {
      seriesKey: '13.2-PRERELEASE/amd64/base/ufs',
      lineKey: '13-STABLE/amd64/base/ufs',
      kind: 'snapshot',
      version: '13.2',
      branch: 'PRERELEASE',
      arch: 'amd64',
      flavour: 'base',
      fs: 'ufs',
      buildDate: '2023-03-02',
      bootMethod: 'UEFI-PREFERRED',
      layout: 'legacy',
      legacyDateStyle: 'compact',
    },
  ],
];

// Near misses: each breaks exactly one rule, and the reason must name that rule.
const REJECTED: ReadonlyArray<readonly [string, string]> = [
  ['', 'empty name'],
  ['debian-12-amd64-20240717-1811', 'not a FreeBSD image name'],
  ['FreeBSD/EC2 10.1-RELEASE amd64', "not a FreeBSD image name (prefix 'FreeBSD/EC2')"],
  ['freebsd 14.3-RELEASE-amd64 base UFS', "prefix must be spelled 'FreeBSD', found 'freebsd'"],
  ['FREEBSD 14.3-RELEASE-amd64 base UFS', "prefix must be spelled 'FreeBSD', found 'FREEBSD'"],
  [' FreeBSD 14.3-RELEASE-amd64 base UFS', 'leading or trailing whitespace'],
  ['FreeBSD 14.3-RELEASE-amd64 base UFS ', 'leading or trailing whitespace'],
  ['FreeBSD 14.3-RELEASE-amd64\tbase UFS', 'whitespace other than single spaces'],
  ['FreeBSD  14.3-RELEASE-amd64 base UFS', 'double space'],
  ['FreeBSD 14.3-RELEASE-amd64 base  UFS', 'double space'],
  ['FreeBSD', 'missing version after FreeBSD'],
  ['FreeBSD 14-RELEASE-amd64 base UFS', "version must look like 14.3, found '14'"],
  ['FreeBSD 014.3-RELEASE-amd64 base UFS', 'version 014.3 has a leading zero'],
  ['FreeBSD 14.3', 'missing branch after version 14.3'],
  ['FreeBSD 14.3-release-amd64 base UFS', "branch must be upper case, found 'release'"],
  ['FreeBSD 15.0-NIGHTLY-amd64-20241226 base UFS', "unknown branch 'NIGHTLY'"],
  ['FreeBSD 15.0-BETA0-amd64 base UFS', 'pre-release BETA0 must be numbered from 1'],
  ['FreeBSD 15.0-RC01-amd64 base UFS', 'pre-release RC01 must be numbered from 1'],
  ['FreeBSD 15.0-BETA-amd64 base UFS', 'pre-release BETA needs a number'],
  ['FreeBSD 14.1-RELEASE-p5-amd64 base UFS', 'patch level 14.1-RELEASE-p5'],
  ['FreeBSD 14.3-RELEASE', 'missing architecture after 14.3-RELEASE'],
  ['FreeBSD 14.3-RELEASE-i386 base UFS', 'unsupported architecture i386'],
  ['FreeBSD 15.0-CURRENT-riscv64-20241226 base UFS', 'unsupported architecture riscv64'],
  ['FreeBSD 14.3-RELEASE-aarch64 base UFS', 'unsupported architecture aarch64'],
  ['FreeBSD 14.3-RELEASE-AMD64 base UFS', 'unsupported architecture AMD64'],
  ['FreeBSD 15.0-CURRENT-amd64-2024122 base UFS', "build date must be YYYYMMDD, found '2024122'"],
  ['FreeBSD 15.0-CURRENT-amd64-202412260 base UFS', "build date must be YYYYMMDD, found '202412260'"],
  ['FreeBSD 15.0-CURRENT-amd64-20241332 base UFS', 'build date 20241332 is not a calendar date'],
  ['FreeBSD 15.0-CURRENT-amd64-20230229 base UFS', 'build date 20230229 is not a calendar date'],
  ['FreeBSD 12.1-STABLE-arm64-2020-02-30', 'build date 2020-02-30 is not a calendar date'],
  ['FreeBSD 14.3-RELEASE-amd64-foo base UFS', "unexpected text '-foo' after architecture amd64"],
  ['FreeBSD 15.0-CURRENT-amd64 base UFS', 'snapshot branch CURRENT needs a build date'],
  ['FreeBSD 14.3-STABLE-arm64 base UFS', 'snapshot branch STABLE needs a build date'],
  ['FreeBSD 12.1-STABLE-arm64', 'snapshot branch STABLE needs a build date'],
  ['FreeBSD 14.3-RELEASE-amd64-20241226 base UFS', 'release branch RELEASE must not carry a build date'],
  ['FreeBSD 15.0-BETA2-amd64-20241226 small ZFS', 'pre-release branch BETA2 must not carry a build date'],
  ['FreeBSD 14.3-RELEASE-amd64 minimal UFS', "unknown flavour 'minimal'"],
  ['FreeBSD 14.3-RELEASE-amd64 Base UFS', "unknown flavour 'Base'"],
  ['FreeBSD 14.3-RELEASE-amd64 UFS', 'missing flavour before file system UFS'],
  ['FreeBSD 14.3-RELEASE-amd64 base', "missing file system after flavour 'base'"],
  ['FreeBSD 14.3-RELEASE-amd64 base ufs', "file system must be upper case, found 'ufs'"],
  ['FreeBSD 14.3-RELEASE-amd64 base XFS', "unknown file system 'XFS'"],
  ['FreeBSD 14.3-RELEASE-amd64 builder ZFS', 'builder flavour is always UFS'],
  ['FreeBSD 14.3-RELEASE-amd64 base UFS extra', "trailing text 'extra'"],
  ['FreeBSD 14.3-RELEASE-amd64 base UFS UEFI', "trailing text 'UEFI'"],
  ['FreeBSD 14.3-RELEASE-amd64 uefi base UFS', "boot method must be upper case, found 'uefi'"],
  ['FreeBSD 14.3-RELEASE-amd64 UEFI BIOS base UFS', "more than one boot method ('UEFI', 'BIOS')"],
  [
    'FreeBSD 15.0-CURRENT-amd64-2024-12-26 base UFS',
    "build date must be YYYYMMDD in flavoured names, found '2024-12-26'",
  ],
  ['FreeBSD 12.1-STABLE-arm64-2020-04-09 UEFI', 'boot method UEFI after a dashed build date'],
  // AWS Marketplace copies append a product UUID; they belong to another account and are not ours to touch.
  ['FreeBSD 13.1-RELEASE-amd64 UEFI-ac170f9b-f71a-458c-ac8e-1bf96b74e270', "unknown flavour 'UEFI-ac170f9b"],
];

const DEFAULTS: FreebsdNameFields = {
  kind: 'snapshot',
  version: '15.0',
  branch: 'CURRENT',
  arch: 'amd64',
  flavour: 'base',
  fs: 'ufs',
  buildDate: '2024-12-26',
  layout: 'current',
};

function parsed(name: string): ParsedImageName {
  const result = freebsdProfile.parse(name);
  if (!result.managed) throw new Error(`test setup: '${name}' was rejected: ${result.reason}`);
  return result;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

// The kind rules restated independently of the implementation, so the property checks them rather than echoes them.
function expectedKind(branch: string, dated: boolean): FreebsdNameFields['kind'] {
  if (branch === 'RELEASE') return 'release';
  if (branch === 'CURRENT' || branch === 'STABLE') return 'snapshot';
  if (branch === 'PRERELEASE') return dated ? 'snapshot' : 'prerelease';
  return 'prerelease';
}

const versionArb = fc
  .tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 20 }))
  .map(([major, minor]) => `${major}.${minor}`);
const isoDateArb = fc
  .date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true })
  .map((date) => date.toISOString().slice(0, 10));
const numberedBranchArb = fc
  .tuple(fc.constantFrom('ALPHA', 'BETA', 'RC'), fc.integer({ min: 1, max: 30 }))
  .map(([stage, n]) => `${stage}${n}`);
const branchAndDateArb: fc.Arbitrary<{ branch: string; buildDate: string | undefined }> = fc.oneof(
  fc.record({ branch: fc.constantFrom('CURRENT', 'STABLE'), buildDate: isoDateArb }),
  fc.record({ branch: fc.constant('PRERELEASE'), buildDate: fc.option(isoDateArb, { nil: undefined }) }),
  fc.record({ branch: fc.oneof(fc.constant('RELEASE'), numberedBranchArb), buildDate: fc.constant(undefined) }),
);
const bootArb = fc.option(fc.constantFrom(...FREEBSD_BOOT_METHODS), { nil: undefined });

const currentFieldsArb: fc.Arbitrary<FreebsdNameFields> = fc
  .record({
    version: versionArb,
    branchAndDate: branchAndDateArb,
    arch: fc.constantFrom('amd64' as const, 'arm64' as const),
    flavour: fc.constantFrom(...FREEBSD_FLAVOURS),
    fs: fc.constantFrom('ufs' as const, 'zfs' as const),
    bootMethod: bootArb,
  })
  .map(({ branchAndDate: { branch, buildDate }, ...rest }) =>
    withoutUndefined({
      ...rest,
      fs: rest.flavour === 'builder' ? ('ufs' as const) : rest.fs,
      branch,
      buildDate,
      kind: expectedKind(branch, buildDate !== undefined),
      layout: 'current' as const,
    }),
  );

// Dashed dates predate boot methods, so a dashed legacy build never has one.
const legacyFieldsArb: fc.Arbitrary<FreebsdNameFields> = fc
  .record({
    version: versionArb,
    branchAndDate: branchAndDateArb,
    arch: fc.constantFrom('amd64' as const, 'arm64' as const),
    dateStyle: fc.constantFrom('dashed' as const, 'compact' as const),
    bootMethod: bootArb,
  })
  .map(({ branchAndDate: { branch, buildDate }, dateStyle, bootMethod, ...rest }) => {
    const legacyDateStyle = buildDate === undefined ? undefined : dateStyle;
    return withoutUndefined({
      ...rest,
      branch,
      buildDate,
      kind: expectedKind(branch, buildDate !== undefined),
      flavour: 'base',
      fs: 'ufs' as const,
      bootMethod: legacyDateStyle === 'dashed' ? undefined : bootMethod,
      layout: 'legacy' as const,
      legacyDateStyle,
    });
  });

const validFieldsArb = fc.oneof(currentFieldsArb, legacyFieldsArb);

// Mostly well-formed names with plausible mistakes mixed in, so a useful share of them is accepted.
const nearlyValidNameArb = fc.stringMatching(
  /^(FreeBSD|freebsd) (0|1|14|015|15)\.(0|3|10)-(CURRENT|STABLE|PRERELEASE|RELEASE|BETA[0-2]|RC1|ALPHA|release)(-p1)?-(amd64|arm64|i386)(-2024122[0-9]|-2023022[89]|-2020-04-0[0-9]|-202413[0-9][0-9])?( (UEFI|BIOS|UEFI-PREFERRED|uefi))?( (base|cloud-init|small|builder|minimal)( (UFS|ZFS|ufs))?)?( extra)?$/,
);

describe('FreeBSD naming profile: parse', () => {
  it.each(ACCEPTED)('reads %s', (name, expected) => {
    // Act
    const result = freebsdProfile.parse(name);

    // Assess
    expect(result).toStrictEqual({ managed: true, profile: 'freebsd', name, ...expected });
  });

  it.each(ACCEPTED)('writes %s back exactly', (name) => {
    // Prepare
    const result = parsed(name);

    // Act
    const written = freebsdProfile.format(result);

    // Assess
    expect(written).toBe(name);
  });

  it.each(REJECTED)('leaves %j unmanaged because of: %s', (name, reason) => {
    // Act
    const result = freebsdProfile.parse(name);

    // Assess
    expect(result).toMatchObject({ managed: false, name });
    expect(result.managed === false && result.reason).toContain(reason);
  });

  it('covers every branch kind, both architectures, every flavour and both file systems in the table', () => {
    // Prepare
    const results = ACCEPTED.map(([, expected]) => expected);

    // Act
    const seen = (field: keyof Expected) => new Set(results.map((r) => r[field]));

    // Assess
    expect(ACCEPTED.length).toBeGreaterThanOrEqual(35);
    expect(REJECTED.length).toBeGreaterThanOrEqual(15);
    expect(seen('kind')).toEqual(new Set(['snapshot', 'prerelease', 'release']));
    expect(seen('arch')).toEqual(new Set(['amd64', 'arm64']));
    expect(seen('flavour')).toEqual(new Set(FREEBSD_FLAVOURS));
    expect(seen('fs')).toEqual(new Set(['ufs', 'zfs']));
    expect(seen('layout')).toEqual(new Set(['current', 'legacy']));
    expect(seen('bootMethod')).toEqual(new Set([undefined, ...FREEBSD_BOOT_METHODS]));
  });

  it('reads the image names of the recorded SNS announcements as legacy snapshots', () => {
    // Prepare: the `Name` of every region in fixtures/bsdec2_sns_example.json and its 2019 counterpart
    const names = ['FreeBSD 12.1-STABLE-arm64-2020-04-09', 'FreeBSD 12.0-STABLE-amd64-2019-03-07'];

    // Act
    const results = names.map(parsed);

    // Assess
    expect(results.map((r) => [r.kind, r.layout, r.flavour, r.fs, r.buildDate])).toEqual([
      ['snapshot', 'legacy', 'base', 'ufs', '2020-04-09'],
      ['snapshot', 'legacy', 'base', 'ufs', '2019-03-07'],
    ]);
  });

  it('puts a legacy snapshot in the same series as today’s base UFS build of that version', () => {
    // Prepare
    const legacy = parsed('FreeBSD 14.0-CURRENT-amd64-20210520');
    const flavoured = parsed('FreeBSD 14.0-CURRENT-amd64-20230301 base UFS');

    // Act
    const keys = [legacy, flavoured].map((p) => [p.seriesKey, p.lineKey]);

    // Assess: retention sees one series, so old unflavoured builds age out with the new ones
    expect(keys[0]).toEqual(keys[1]);
  });

  it('keeps UEFI builds in a series of their own but treats a spelled-out UEFI-PREFERRED as the default', () => {
    // Prepare
    const names = [
      'FreeBSD 14.0-RELEASE-amd64 base ZFS',
      'FreeBSD 14.0-RELEASE-amd64 UEFI-PREFERRED base ZFS',
      'FreeBSD 14.0-RELEASE-amd64 UEFI base ZFS',
    ];

    // Act
    const series = names.map((name) => parsed(name).seriesKey);

    // Assess
    expect(series).toEqual([
      '14.0-RELEASE/amd64/base/zfs',
      '14.0-RELEASE/amd64/base/zfs',
      '14.0-RELEASE/amd64/base/zfs/uefi',
    ]);
  });

  it('puts dated PRERELEASE builds on the STABLE line of their major version', () => {
    // Prepare
    const prerelease = parsed('FreeBSD 14.3-PRERELEASE-amd64-20250501 base UFS');
    const stable = parsed('FreeBSD 14.2-STABLE-amd64-20250102 base UFS');

    // Act
    const lines = [prerelease.lineKey, stable.lineKey];

    // Assess
    expect(lines).toEqual(['14-STABLE/amd64/base/ufs', '14-STABLE/amd64/base/ufs']);
  });
});

describe('FreeBSD naming profile: format', () => {
  it('writes a dated legacy build in the dashed style when no date style is given', () => {
    // Prepare
    const fields: FreebsdNameFields = {
      ...DEFAULTS,
      version: '12.1',
      branch: 'STABLE',
      arch: 'arm64',
      buildDate: '2020-04-09',
      layout: 'legacy',
    };

    // Act
    const name = freebsdProfile.format(fields);

    // Assess
    expect(name).toBe('FreeBSD 12.1-STABLE-arm64-2020-04-09');
  });

  it.each<[string, Partial<FreebsdNameFields>, string]>([
    ['a builder ZFS image', { flavour: 'builder', fs: 'zfs' }, 'builder flavour is always UFS'],
    ['a CURRENT build without date', { buildDate: undefined }, 'snapshot branch CURRENT needs a build date'],
    ['a RELEASE with a build date', { branch: 'RELEASE', kind: 'release' }, 'must not carry a build date'],
    ['a kind that contradicts the branch', { kind: 'release' }, 'kind "release" would read back as "snapshot"'],
    ['a legacy image with a flavour', { layout: 'legacy', flavour: 'small' }, 'flavour "small"'],
    ['a date that is not ISO', { buildDate: '26.12.2024' }, "buildDate must be YYYY-MM-DD, found '26.12.2024'"],
    ['a date that is not a calendar date', { buildDate: '2023-02-29' }, 'build date 20230229 is not a calendar date'],
    ['a date style on a flavoured name', { legacyDateStyle: 'compact' }, 'legacyDateStyle "compact"'],
    ['an unsupported architecture', { arch: 'i386' as 'amd64' }, 'unsupported architecture i386'],
  ])('refuses to write %s', (_, change, message) => {
    // Prepare
    const fields = { ...DEFAULTS, ...change };

    // Act
    const write = () => freebsdProfile.format(fields);

    // Assess
    expect(write).toThrow(ImageNameFormatError);
    expect(write).toThrow(message);
  });
});

describe('FreeBSD naming profile: properties', () => {
  it('reads back every valid build exactly as it was written', () => {
    fc.assert(
      fc.property(validFieldsArb, (fields) => {
        // Act
        const name = freebsdProfile.format(fields);
        const result = freebsdProfile.parse(name);

        // Assess
        expect(result.managed).toBe(true);
        const { managed, profile, name: readName, seriesKey, lineKey, ...readFields } = result as ParsedImageName;
        expect(readName).toBe(name);
        expect(readFields).toStrictEqual(fields);
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on arbitrary text and always gives a reason when it rejects', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), nearlyValidNameArb), (name) => {
        // Act
        const result = freebsdProfile.parse(name);

        // Assess
        expect(result.name).toBe(name);
        if (!result.managed) expect(result.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('writes back every name it accepts exactly', () => {
    // Prepare: count acceptances so a generator that drifted into rejecting everything fails the test
    let accepted = 0;

    // Act
    fc.assert(
      fc.property(nearlyValidNameArb, (name) => {
        const result = freebsdProfile.parse(name);
        if (!result.managed) return;
        accepted += 1;
        expect(freebsdProfile.format(result)).toBe(name);
        expect(freebsdProfile.parse(freebsdProfile.format(result))).toStrictEqual(result);
      }),
      { numRuns: 3000 },
    );

    // Assess
    expect(accepted).toBeGreaterThan(20);
  });

  it('keeps builds that differ only in build date in one series and one line', () => {
    fc.assert(
      fc.property(currentFieldsArb, isoDateArb, (fields, otherDate) => {
        // Prepare
        fc.pre(fields.buildDate !== undefined);
        const other = { ...fields, buildDate: otherDate };

        // Act
        const [a, b] = [fields, other].map((f) => parsed(freebsdProfile.format(f)));

        // Assess
        expect([a!.seriesKey, a!.lineKey]).toEqual([b!.seriesKey, b!.lineKey]);
      }),
    );
  });
});

describe('compareBuilds', () => {
  it('orders pre-releases ALPHA < BETA < RC < RELEASE, numbering numerically', () => {
    // Prepare
    const names = [
      'FreeBSD 15.0-RELEASE-amd64 base UFS',
      'FreeBSD 15.0-RC10-amd64 base UFS',
      'FreeBSD 15.0-BETA1-amd64 base UFS',
      'FreeBSD 15.0-RC9-amd64 base UFS',
      'FreeBSD 15.0-ALPHA2-amd64 base UFS',
      'FreeBSD 14.3-RELEASE-amd64 base UFS',
      'FreeBSD 15.0-BETA10-amd64 base UFS',
      'FreeBSD 15.0-PRERELEASE-amd64 base UFS',
    ];

    // Act
    const sorted = names.map(parsed).sort(compareBuilds);

    // Assess
    expect(sorted.map((p) => p.branch)).toEqual([
      'RELEASE',
      'PRERELEASE',
      'ALPHA2',
      'BETA1',
      'BETA10',
      'RC9',
      'RC10',
      'RELEASE',
    ]);
    expect(sorted[0]!.version).toBe('14.3');
  });

  it('orders builds of one series by build date, newest last', () => {
    // Prepare
    const names = [
      'FreeBSD 15.0-CURRENT-amd64-20250102 base UFS',
      'FreeBSD 15.0-CURRENT-amd64-20241226 base UFS',
      'FreeBSD 15.0-CURRENT-amd64-20250109 base UFS',
    ];

    // Act
    const sorted = names.map(parsed).sort(compareBuilds);

    // Assess
    expect(sorted.map((p) => p.buildDate)).toEqual(['2024-12-26', '2025-01-02', '2025-01-09']);
  });

  it('orders a STABLE line across version bumps and its PRERELEASE phase', () => {
    // Prepare
    const names = [
      'FreeBSD 14.3-STABLE-amd64-20250612 base UFS',
      'FreeBSD 14.3-PRERELEASE-amd64-20250501 base UFS',
      'FreeBSD 14.2-STABLE-amd64-20250410 base UFS',
    ];

    // Act
    const sorted = names.map(parsed).sort(compareBuilds);

    // Assess
    expect(sorted.map((p) => p.name)).toEqual([
      'FreeBSD 14.2-STABLE-amd64-20250410 base UFS',
      'FreeBSD 14.3-PRERELEASE-amd64-20250501 base UFS',
      'FreeBSD 14.3-STABLE-amd64-20250612 base UFS',
    ]);
  });

  it('is a total order: antisymmetric, transitive and zero only for the same name', () => {
    const parsedArb = validFieldsArb.map((fields) => parsed(freebsdProfile.format(fields)));
    fc.assert(
      fc.property(parsedArb, parsedArb, parsedArb, (a, b, c) => {
        // Act
        const ab = compareBuilds(a, b);
        const bc = compareBuilds(b, c);
        const ac = compareBuilds(a, c);

        // Assess
        expect(Math.sign(ab)).toBe(-Math.sign(compareBuilds(b, a)));
        expect(ab === 0).toBe(a.name === b.name);
        if (ab <= 0 && bc <= 0) expect(ac).toBeLessThanOrEqual(0);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('FreeBSD naming profile: descriptions', () => {
  it.each<[string, ImageProvenance]>([
    ['FreeBSD/amd64 main@a1b2c3d4e5f6', { arch: 'amd64', gitBranch: 'main', gitRevision: 'a1b2c3d4e5f6' }],
    ['FreeBSD/arm64 stable/14@5f3a8e0c2b71', { arch: 'arm64', gitBranch: 'stable/14', gitRevision: '5f3a8e0c2b71' }],
    [
      'FreeBSD/amd64 releng/14.3@9d1c04b7e2aa',
      { arch: 'amd64', gitBranch: 'releng/14.3', gitRevision: '9d1c04b7e2aa' },
    ],
    ['FreeBSD/amd64 releng/15.0@0c2d6a1', { arch: 'amd64', gitBranch: 'releng/15.0', gitRevision: '0c2d6a1' }],
    ['FreeBSD/arm64 stable/12@359721', { arch: 'arm64', gitBranch: 'stable/12', gitRevision: '359721' }],
    ['FreeBSD/amd64 head@356000', { arch: 'amd64', gitBranch: 'head', gitRevision: '356000' }],
  ])('reads the provenance of %s and writes it back', (description, provenance) => {
    // Act
    const read = freebsdProfile.parseDescription(description);

    // Assess
    expect(read).toStrictEqual(provenance);
    expect(freebsdProfile.formatDescription(provenance)).toBe(description);
  });

  it.each<[string, string | undefined]>([
    ['no description', undefined],
    ['an empty description', ''],
    ['the pre-git description layout', 'FreeBSD 11.0-RELEASE-amd64'],
    ['an unsupported architecture', 'FreeBSD/i386 main@a1b2c3d4e5f6'],
    ['the aarch64 spelling', 'FreeBSD/aarch64 main@a1b2c3d4e5f6'],
    ['an unknown branch', 'FreeBSD/amd64 feature/foo@a1b2c3d4e5f6'],
    ['upper-case hex', 'FreeBSD/amd64 main@A1B2C3D4E5F6'],
    ['a hash too short to be one', 'FreeBSD/amd64 main@a1b2c3'],
    ['no revision', 'FreeBSD/amd64 main'],
    ['trailing whitespace', 'FreeBSD/amd64 main@a1b2c3d4e5f6 '],
    ['a leading-zero stable branch', 'FreeBSD/amd64 stable/014@a1b2c3d4e5f6'],
  ])('gives no provenance for %s', (_, description) => {
    // Act
    const read = freebsdProfile.parseDescription(description);

    // Assess
    expect(read).toBeUndefined();
  });

  it('refuses to write a description it could not read back', () => {
    // Prepare
    const provenance: ImageProvenance = { arch: 'amd64', gitBranch: 'my branch', gitRevision: 'a1b2c3d4e5f6' };

    // Act
    const write = () => freebsdProfile.formatDescription(provenance);

    // Assess
    expect(write).toThrow(ImageNameFormatError);
  });
});

describe('FreeBSD naming profile: SSM parameter names', () => {
  it.each([
    ['FreeBSD 15.0-CURRENT-amd64-20241226 base UFS', '/ami-pipeline/freebsd/amd64/base/ufs/15.0/CURRENT'],
    ['FreeBSD 14.3-RELEASE-arm64 cloud-init ZFS', '/ami-pipeline/freebsd/arm64/cloud-init/zfs/14.3/RELEASE'],
    ['FreeBSD 15.0-BETA2-amd64 small ZFS', '/ami-pipeline/freebsd/amd64/small/zfs/15.0/BETA2'],
    ['FreeBSD 13.5-STABLE-amd64-20250306 UEFI base UFS', '/ami-pipeline/freebsd/amd64/base/ufs/13.5/STABLE/uefi'],
    ['FreeBSD 14.1-RELEASE-amd64 BIOS base UFS', '/ami-pipeline/freebsd/amd64/base/ufs/14.1/RELEASE/bios'],
    ['FreeBSD 14.0-RELEASE-amd64 UEFI-PREFERRED base ZFS', '/ami-pipeline/freebsd/amd64/base/zfs/14.0/RELEASE'],
    ['FreeBSD 12.1-STABLE-arm64-2020-04-09', '/ami-pipeline/freebsd/arm64/base/ufs/12.1/STABLE'],
  ])('names the parameter of %s %s', (name, parameter) => {
    // Prepare
    const image = parsed(name);

    // Act
    const ssmName = freebsdProfile.ssmParameterName('/ami-pipeline/freebsd', image);

    // Assess
    expect(ssmName).toBe(parameter);
  });

  it('does not double the slash when the prefix ends with one', () => {
    // Prepare
    const image = parsed('FreeBSD 15.0-CURRENT-amd64-20241226 base UFS');

    // Act
    const ssmName = freebsdProfile.ssmParameterName('/aws/service/freebsd/', image);

    // Assess
    expect(ssmName).toBe('/aws/service/freebsd/amd64/base/ufs/15.0/CURRENT');
  });
});

describe('namingProfile', () => {
  it('returns the FreeBSD profile for the id the configuration defaults to', () => {
    // Act
    const profile = namingProfile('freebsd');

    // Assess
    expect(profile).toBe(freebsdProfile);
    expect(profile.id).toBe('freebsd');
  });

  it('fails with a configuration error naming the unknown profile and the registered ones', () => {
    // Prepare: the cast stands for an id read from untyped configuration
    const id = 'openbsd' as NamingProfileId;

    // Act
    const lookUp = () => namingProfile(id);

    // Assess
    expect(lookUp).toThrow(ConfigError);
    expect(lookUp).toThrow("unknown naming profile 'openbsd'; registered profiles: freebsd");
  });

  it('does not mistake inherited object properties for profiles', () => {
    // Prepare
    const id = 'constructor' as NamingProfileId;

    // Act
    const lookUp = () => namingProfile(id);

    // Assess
    expect(lookUp).toThrow(ConfigError);
  });
});
