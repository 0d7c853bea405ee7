export { BOOT_PROFILES, type BootTruth, SimulatedPortProbe } from './boot';
export { COMMERCIAL_REGIONS, DEFAULT_OPTED_IN, instanceTypeInfo, type RegionInfo } from './catalog';
export { type CallFilter, type ListingRecord, SimCounters } from './counters';
export { type AwsErrorSpec, awsError, SimulationGapError } from './errors';
export type { FaultHandle, FaultRule } from './faults';
export {
  AWS_PHYSICS,
  type BootOutcome,
  type BootProfile,
  type BucketSpec,
  NO_PHYSICS,
  type Physics,
  type PhysicsOverrides,
} from './physics';
export { type Distribution, Random } from './random';
export {
  AwsSim,
  type AwsSimOptions,
  createAwsSim,
  type InspectedImage,
  type InspectedInstance,
  type InspectedSnapshot,
  Inspector,
  Seeder,
} from './sim';
export {
  DeadlockError,
  awaitRealWork,
  inVirtualTime,
  runInVirtualTime,
  type VirtualRun,
  type VirtualRunReport,
  VirtualTimeError,
  VirtualTimeLimitError,
  type VirtualTimeOptions,
  virtualClock,
} from './virtual-time';
