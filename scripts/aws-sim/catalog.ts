import { isNitro } from '../../lambdas/core/boot/plan';

/** A commercial region and whether an account must opt in to it. */
export interface RegionInfo {
  readonly name: string;
  /** `opt-in-not-required` regions are enabled in every account; the others only once the account opts in. */
  readonly optIn: boolean;
  /** Availability zone suffixes. */
  readonly zones: readonly string[];
}

// Commercial regions as listed in "Amazon EC2 endpoints and quotas" (docs.aws.amazon.com/general/latest/gr/
// ec2-service.html) and "Enable or disable AWS Regions in your account" (opt-in regions), 2025.
const DEFAULT_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ap-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'ca-central-1',
  'eu-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-north-1',
  'sa-east-1',
];
const OPT_IN_REGIONS = [
  'af-south-1',
  'ap-east-1',
  'ap-south-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ca-west-1',
  'eu-central-2',
  'eu-south-1',
  'eu-south-2',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'ap-southeast-5',
  'ap-southeast-7',
  'mx-central-1',
  'ap-east-2',
  'ap-southeast-6',
];
// us-east-1 has six zones, most regions three; the model needs only that a region has several.
const ZONES: Readonly<Record<string, readonly string[]>> = {
  'us-east-1': ['a', 'b', 'c', 'd', 'e', 'f'],
  'us-west-2': ['a', 'b', 'c', 'd'],
  'us-west-1': ['a', 'c'],
};

/** Every commercial region the simulation knows. */
export const COMMERCIAL_REGIONS: readonly RegionInfo[] = [
  ...DEFAULT_REGIONS.map((name) => ({ name, optIn: false, zones: ZONES[name] ?? ['a', 'b', 'c'] })),
  ...OPT_IN_REGIONS.map((name) => ({ name, optIn: true, zones: ZONES[name] ?? ['a', 'b', 'c'] })),
];

/**
 * The opt-in regions a long-standing publishing account has enabled by default in the simulation: with the 17
 * regions that need no opt-in, 29 regions, FreeBSD's publishing footprint. The rest stay `not-opted-in`.
 */
export const DEFAULT_OPTED_IN: readonly string[] = OPT_IN_REGIONS.slice(0, 12);

/** What the model needs to know about an instance type. */
export interface InstanceTypeInfo {
  readonly name: string;
  readonly architecture: 'x86_64' | 'arm64';
  readonly vcpus: number;
  readonly nitro: boolean;
  /** The On-Demand vCPU quota bucket the type counts against (`standard` for A, C, D, H, I, M, R, T, Z). */
  readonly vcpuBucket: string;
}

const SIZE_VCPUS: Readonly<Record<string, number>> = {
  nano: 2,
  micro: 2,
  small: 2,
  medium: 1,
  large: 2,
  xlarge: 4,
  metal: 64,
};

// Graviton families end their generation with `g` (c6g, m7g, t4g, c8g, also c6gn and c7gd).
const GRAVITON = /^[a-z]+\d+g[a-z]*$/;

/** Architecture, vCPUs, Nitro and quota bucket of `instanceType`, from its name (`c7g.large`, `m7i.2xlarge`). */
export function instanceTypeInfo(instanceType: string): InstanceTypeInfo {
  const [family = '', size = ''] = instanceType.split('.');
  const multiple = /^(\d+)xlarge$/.exec(size);
  const vcpus = multiple ? Number(multiple[1]) * 4 : (SIZE_VCPUS[size] ?? 2);
  const letter = family.charAt(0);
  const vcpuBucket = 'acdhimrtz'.includes(letter)
    ? 'standard'
    : family.startsWith('inf') || family.startsWith('trn') || family.startsWith('dl')
      ? family.replace(/\d.*$/, '')
      : letter;
  return {
    name: instanceType,
    architecture: GRAVITON.test(family) || family.startsWith('a1') ? 'arm64' : 'x86_64',
    vcpus,
    nitro: isNitro(instanceType),
    vcpuBucket,
  };
}

/** EC2's numeric code of an instance state. */
export const INSTANCE_STATE_CODES: Readonly<Record<string, number>> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};
