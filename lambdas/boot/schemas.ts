import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import type { LaunchSpec } from '../core/boot/plan';
import type { BootRunResult, CheckResult, ProbeObservation } from '../core/boot/result';
import { ConfigError } from '../core/errors';
import { requiredEnv } from '../shared/env';
import { invocationEnv } from '../shared/invocation';
import type { BootNetworkConfig } from '../aws/boot/instances';
import { BootRunTable } from '../aws/boot/runs';
import type { ClientFactory } from '../aws/clients';
import type { Clock } from '../aws/rate-limiter';

const hasKeys =
  <T>(what: string, ...keys: string[]) =>
  () =>
    z.custom<T>(
      (value) => typeof value === 'object' && value !== null && keys.every((k) => k in (value as object)),
      `expected ${what} with ${keys.join(', ')}`,
    );

/** Shapes passed between the boot test workflow's steps; each step checks the fields it relies on. */
export const runId = z.string().regex(/^[A-Za-z0-9_.:-]{1,80}$/, 'a run id is 1-80 letters, digits, _ . : or -');
export const launchSpec = hasKeys<LaunchSpec>(
  'a planned launch',
  'key',
  'imageId',
  'instanceType',
  'clientToken',
  'checks',
);
/** A planned launch as the state machine names it: the run, the batch (0-based) and the slot in it (1-based). */
export const launchAddress = {
  runId,
  batch: z.number().int().min(0),
  slot: z.number().int().min(1).max(999),
};
/** What the Map iteration carries of a launched instance: the probe's target and what the checks need. */
export const launchedTarget = z.object({
  instanceId: z.string().regex(/^i-[0-9a-f]+$/),
  host: z.string(),
  availabilityZone: z.string(),
  instanceType: z.string(),
  imageId: z.string(),
  seriesKey: z.string(),
  hotplugCycles: z.number().int().min(0),
});
export const probeObservation = hasKeys<ProbeObservation>('a probe observation', 'outcome', 'startedAt');
export const checkResult = hasKeys<CheckResult>('a check result', 'name', 'passed', 'reason');
export const bootRunResult = hasKeys<BootRunResult>('a boot result', 'key', 'status', 'seriesKey', 'instanceType');

/** Environment variables the stack sets on the boot test functions. */
export const BOOT_ENV = {
  subnets: 'BOOT_SUBNET_IDS',
  securityGroups: 'BOOT_SECURITY_GROUP_IDS',
  network: 'BOOT_NETWORK',
  historyTable: 'BOOT_HISTORY_TABLE',
  runTable: 'BOOT_RUN_TABLE',
  alarmTopic: 'ALARM_TOPIC_ARN',
} as const;

/** The test network the stack made, from the environment. */
export function bootNetworkFromEnv(
  env: Readonly<Record<string, string | undefined>> = invocationEnv(),
): BootNetworkConfig {
  const kind = requiredEnv(BOOT_ENV.network, env);
  // `operator`: a network an operator's local run names on the command line, reachable from that machine.
  if (kind !== 'isolated' && kind !== 'outbound-internet' && kind !== 'operator')
    throw new ConfigError(`${BOOT_ENV.network} must be isolated, outbound-internet or operator (got ${kind})`);
  return {
    kind,
    subnetIds: requiredEnv(BOOT_ENV.subnets, env).split(','),
    securityGroupIds: requiredEnv(BOOT_ENV.securityGroups, env).split(','),
  };
}

/** The run table the stack made, where a run's plans and results live between its steps. */
export function runTableFromEnv(clients: ClientFactory, region: string, clock: Clock): BootRunTable {
  return new BootRunTable(clients.client(DynamoDBClient, region), requiredEnv(BOOT_ENV.runTable), clock);
}
