import { PipelineError } from '../errors';
import type { ReproCheck } from './plan';

/** EC2 takes at most 16 KiB of user data, before base64. */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

/** A parameter that cannot be put into the instance job safely, or user data over EC2's limit. */
export class ReproUserDataError extends PipelineError {
  override readonly name: string = 'ReproUserDataError';
}

/** Where the instance job writes and what it builds: the values it reads as `REPRO_*` variables. */
export interface InstanceJobParameters {
  readonly bucket: string;
  /** The unique id of the instances' role: with the instance id, the name of the folder the job may write to. */
  readonly instanceRoleId: string;
  readonly region: string;
  readonly sourceRepository: string;
  readonly check: Pick<
    ReproCheck,
    'reportPrefix' | 'gitBranch' | 'gitRevision' | 'flavour' | 'fs' | 'timeBudgetMinutes' | 'diffoscopeMinutes'
  >;
}

// Every value is checked against a pattern that needs no quoting in sh, so no value can become a command.
const SAFE = /^[A-Za-z0-9@%+=:,./_-]+$/;

/**
 * The instance job with its parameters: the script's shebang, then one exported assignment per parameter, then the
 * rest of the script. Throws ReproUserDataError for a value outside the safe alphabet or user data over 16 KiB.
 */
export function instanceJobUserData(script: string, parameters: InstanceJobParameters): string {
  const { check } = parameters;
  const values: Record<string, string> = {
    REPRO_BUCKET: parameters.bucket,
    REPRO_PREFIX: check.reportPrefix,
    REPRO_ROLE_ID: parameters.instanceRoleId,
    REPRO_REGION: parameters.region,
    REPRO_BRANCH: check.gitBranch,
    REPRO_REVISION: check.gitRevision,
    REPRO_FLAVOUR: check.flavour,
    REPRO_FS: check.fs,
    REPRO_BUDGET_MINUTES: String(check.timeBudgetMinutes),
    REPRO_DIFF_MINUTES: String(check.diffoscopeMinutes),
    REPRO_SOURCE_URL: parameters.sourceRepository,
  };
  for (const [name, value] of Object.entries(values))
    if (!SAFE.test(value))
      throw new ReproUserDataError(`${name} ${JSON.stringify(value)} has characters sh would read`);
  const [shebang, ...rest] = script.split('\n');
  if (shebang !== '#!/bin/sh') throw new ReproUserDataError('the instance job must start with #!/bin/sh');
  const assignments = Object.entries(values).map(([name, value]) => `${name}=${value}`);
  const text = [shebang, ...assignments, `export ${Object.keys(values).join(' ')}`, ...rest].join('\n');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > USER_DATA_LIMIT_BYTES)
    throw new ReproUserDataError(`user data of ${bytes} bytes is over EC2's ${USER_DATA_LIMIT_BYTES}-byte limit`);
  return text;
}
