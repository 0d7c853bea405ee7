import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { checkOutputFolder, type ReproCheck } from '../core/repro/plan';
import { requiredEnv } from '../shared/env';
import { invocationEnv } from '../shared/invocation';
import type { CheckOutputs, ReproNetwork } from '../aws/repro/checks';

/** Environment variables the stack sets on the reproducibility functions. */
export const REPRO_ENV = {
  subnets: 'REPRO_SUBNET_IDS',
  securityGroups: 'REPRO_SECURITY_GROUP_IDS',
  instanceProfile: 'REPRO_INSTANCE_PROFILE_ARN',
  /** The unique id (`AROA...`) of the check instances' role: the first half of each instance's folder name. */
  instanceRoleId: 'REPRO_INSTANCE_ROLE_ID',
  historyTable: 'REPRO_HISTORY_TABLE',
  reportBucket: 'REPORT_BUCKET',
  alarmTopic: 'ALARM_TOPIC_ARN',
} as const;

/** File name of the instance job, beside the handler in source and in the bundle. */
export const INSTANCE_JOB_FILE = 'instance-job.sh';

export const runId = z.string().regex(/^[A-Za-z0-9_.:-]{1,80}$/, 'a run id is 1-80 letters, digits, _ . : or -');

/** A planned check as the state machine carries it; each step relies on these fields. */
export const reproCheck = z.custom<ReproCheck>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    ['key', 'week', 'imageId', 'instanceType', 'rootSnapshotId', 'reportPrefix', 'clientToken', 'lineKey'].every(
      (k) => typeof (value as Record<string, unknown>)[k] === 'string',
    ),
  'expected a planned check with key, week, imageId, instanceType, rootSnapshotId, reportPrefix, clientToken',
);

export const launchedCheck = z.object({
  instanceId: z.string().regex(/^i-[0-9a-f]+$/),
  availabilityZone: z.string(),
  volumeId: z.string().regex(/^vol-[0-9a-f]+$/),
  launchedAt: z.number().int(),
});

/** The folder of `instanceId`'s outputs for `check` in the report bucket, from the environment. */
export function checkOutputsFromEnv(
  check: Pick<ReproCheck, 'reportPrefix'>,
  instanceId: string,
  env: Readonly<Record<string, string | undefined>> = invocationEnv(),
): CheckOutputs {
  return {
    bucket: requiredEnv(REPRO_ENV.reportBucket, env),
    folder: checkOutputFolder(check, requiredEnv(REPRO_ENV.instanceRoleId, env), instanceId),
  };
}

/** The check network the stack made, from the environment. */
export function reproNetworkFromEnv(env: Readonly<Record<string, string | undefined>> = invocationEnv()): ReproNetwork {
  return {
    subnetIds: requiredEnv(REPRO_ENV.subnets, env).split(','),
    securityGroupIds: requiredEnv(REPRO_ENV.securityGroups, env).split(','),
    instanceProfileArn: requiredEnv(REPRO_ENV.instanceProfile, env),
  };
}

let script: string | undefined;

/** The instance job shipped beside the handler (copied into the bundle by the stack). */
export function instanceJobScript(): string {
  script ??= readFileSync(join(__dirname, INSTANCE_JOB_FILE), 'utf8');
  return script;
}
