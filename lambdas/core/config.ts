import * as z from 'zod';
import { ConfigError } from './errors';
import { partitionOf, regionNameProblem } from './regions';

/** Instance families built on Graviton (arm64); every other family is x86 (amd64). */
export function instanceTypeArchitecture(instanceType: string): 'arm64' | 'amd64' | undefined {
  const match = /^([a-z0-9-]+)\.([a-z0-9-]+)$/.exec(instanceType);
  if (!match) return undefined;
  const family = match[1]!;
  if (family === 'a1' || /^[a-z]+\d+g[a-z]*(-flex)?$/.test(family)) return 'arm64';
  if (/^[a-z]+\d+[a-z]*(-[a-z]+)?$/.test(family)) return 'amd64';
  return undefined;
}

const CRON_FIELDS: readonly { name: string; pattern: RegExp }[] = [
  { name: 'minutes', pattern: /^(\*|[0-5]?\d)([-,/][0-5]?\d)*$|^\*(\/\d+)?$/ },
  { name: 'hours', pattern: /^(\*|[01]?\d|2[0-3])([-,/]([01]?\d|2[0-3]))*$|^\*(\/\d+)?$/ },
  { name: 'day-of-month', pattern: /^(\?|\*|L|([1-9]|[12]\d|3[01])W?)([-,/]([1-9]|[12]\d|3[01]))*$|^\*(\/\d+)?$/ },
  {
    name: 'month',
    pattern:
      /^(\*|[1-9]|1[0-2]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)([-,/]([1-9]|1[0-2]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC))*$/,
  },
  {
    name: 'day-of-week',
    pattern: /^(\?|\*|[1-7]L?|SUN|MON|TUE|WED|THU|FRI|SAT)([-,#]([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT))*$/,
  },
  { name: 'year', pattern: /^(\*|(19[7-9]\d|2[01]\d\d))([-,/](19[7-9]\d|2[01]\d\d|\d+))*$/ },
];

/** Why an EventBridge `cron(...)` expression is invalid, or undefined when it is valid. */
export function cronProblem(expression: string): string | undefined {
  const match = /^cron\((.*)\)$/.exec(expression.trim());
  if (!match) return 'must look like cron(Minutes Hours Day-of-month Month Day-of-week Year), e.g. cron(0 6 ? * SAT *)';
  const fields = match[1]!.trim().split(/\s+/);
  if (fields.length !== 6) return `has ${fields.length} fields; EventBridge cron needs 6 (the sixth is the year)`;
  for (const [index, field] of fields.entries()) {
    const spec = CRON_FIELDS[index]!;
    if (!spec.pattern.test(field.toUpperCase())) return `field ${spec.name} "${field}" is not valid`;
  }
  if (fields[2] !== '?' && fields[4] !== '?') return 'one of day-of-month or day-of-week must be "?"';
  return undefined;
}

/** Any well-formed region name: regions AWS opens later can be named before this code knows them. */
const regionName = z.string().superRefine((value, ctx) => {
  const problem = regionNameProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A region the pipeline may work in: well formed, and in the commercial partition its region selection keeps. */
const commercialRegion = regionName.superRefine((value, ctx) => {
  const partition = partitionOf(value);
  if (regionNameProblem(value) === undefined && partition !== 'aws')
    ctx.addIssue({
      code: 'custom',
      message: `${value} is in partition ${partition}; the pipeline works in the commercial partition (aws) only`,
    });
});

const cron = z.string().superRefine((value, ctx) => {
  const problem = cronProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `cron expression ${JSON.stringify(value)} ${problem}` });
});

const days = (what: string) =>
  z
    .number({ error: `${what} must be a number of days` })
    .int(`${what} must be a whole number of days`)
    .min(0, `${what} cannot be negative`);

const instanceTypesFor = (arch: 'arm64' | 'amd64') =>
  z
    .array(z.string())
    .min(1, `list at least one ${arch} instance type`)
    .superRefine((types, ctx) => {
      types.forEach((type, index) => {
        const actual = instanceTypeArchitecture(type);
        if (actual === undefined)
          ctx.addIssue({
            code: 'custom',
            path: [index],
            message: `"${type}" is not an instance type name like c7g.large`,
          });
        else if (actual !== arch)
          ctx.addIssue({
            code: 'custom',
            path: [index],
            message: `"${type}" is an ${actual} instance type; only ${arch} types belong here`,
          });
      });
    });

const branchLine = z
  .string()
  .regex(/^\d+-(STABLE|CURRENT)$/, 'a development line is written like 14-STABLE or 15-CURRENT');

export const configSchema = z
  .strictObject({
    /** Value of the managed-by tag put on everything the pipeline creates; only resources carrying it are deleted. */
    managedTag: z
      .strictObject({
        key: z.string().min(1).default('ami-pipeline:managed-by'),
        value: z.string().min(1).default('ami-pipeline'),
      })
      .prefault({}),
    buildRegion: commercialRegion.default('us-east-1'),
    regions: z
      .strictObject({
        allow: z.array(commercialRegion).default([]),
        deny: z.array(regionName).default([]),
      })
      .prefault({}),
    naming: z
      .strictObject({
        profile: z.enum(['freebsd']).default('freebsd'),
      })
      .prefault({}),
    series: z
      .strictObject({
        lines: z.array(branchLine).min(1, 'manage at least one line').default(['13-STABLE', '14-STABLE', '15-CURRENT']),
        arches: z
          .array(z.enum(['amd64', 'arm64']))
          .min(1)
          .default(['amd64', 'arm64']),
        filesystems: z
          .array(z.enum(['ufs', 'zfs']))
          .min(1)
          .default(['ufs', 'zfs']),
        flavours: z
          .array(z.enum(['base', 'cloud-init', 'small', 'builder']))
          .min(1)
          .default(['base', 'cloud-init', 'small', 'builder']),
        includeReleases: z.boolean().default(true),
      })
      .prefault({}),
    publish: z
      .strictObject({
        makeAmiPublic: z.boolean().default(true),
        makeSnapshotPublic: z.boolean().default(true),
        /** Snapshot builds deprecate this many days after their build date (AWS caps public AMIs at 2 years). */
        deprecateAfterDays: days('publish.deprecateAfterDays')
          .max(730, 'AWS deprecates public AMIs within 2 years')
          .default(365),
        ssmPrefix: z
          .string()
          .regex(
            /^(\/[A-Za-z0-9_.-]+)+$/,
            'an SSM path starts with / and has no trailing /, e.g. /ami-pipeline/freebsd',
          )
          .refine((p) => !p.startsWith('/aws'), 'the /aws prefix is reserved by AWS')
          .default('/ami-pipeline/freebsd'),
        /** A week's images start at once, within CopyImage's 100-request burst and AWS's 300 copies in flight. */
        copyConcurrency: z.number().int().min(1).max(300).default(100),
        /** Every commercial region at once: 40 is the most an inline Map runs in parallel. */
        regionConcurrency: z.number().int().min(1).max(40).default(40),
        maxCopyAttempts: z.number().int().min(1).max(10).default(3),
        pollIntervalSeconds: z.number().int().min(0).max(3600).default(60),
        copyTimeoutMinutes: z
          .number()
          .int()
          .min(1)
          .max(24 * 60)
          .default(180),
        /** Sources one run takes, newest first; the rest waits for the next run (bounds every state's size). */
        maxSourcesPerRun: z.number().int().min(1).max(200).default(100),
        /** A (source, region) pair still not published this many days after the source was built is given up. */
        giveUpAfterDays: z.number().int().min(1).max(365).default(28),
        /** Whether the workflow may turn off image block public access in a region where it is on. */
        disableBlockPublicAccess: z.boolean().default(false),
        /** The account's public-AMI quota per region; a region a run would take over it fails preflight. */
        publicImageQuota: z.number().int().min(1, 'a quota is at least 1').optional(),
      })
      .prefault({}),
    bootTest: z
      .strictObject({
        enabled: z.boolean().default(true),
        instanceTypes: z
          .strictObject({
            arm64: instanceTypesFor('arm64').default(['c6g.large', 'c7g.large', 'c8g.large']),
            amd64: instanceTypesFor('amd64').default(['c5.large', 'c7i.large', 'm7a.large']),
          })
          .prefault({}),
        runs: z.number().int().min(1).max(10).default(1),
        timeoutSeconds: z.number().int().min(30).max(3600).default(600),
        probeIntervalMs: z.number().int().min(10).max(50).default(50),
        /** Outbound-only internet for test instances whose boot needs it; isolated subnets by default. */
        internetAccess: z.boolean().default(false),
        stopCheck: z.boolean().default(true),
        hotplugCycles: z.number().int().min(0).max(200).default(10),
        /** A launch refused for the account's vCPU limit retries this long while other test instances end. */
        vcpuWaitSeconds: z.number().int().min(0).max(780).default(600),
        regression: z
          .strictObject({
            weeks: z.number().int().min(1).max(52).default(8),
            ratio: z.number().min(1).default(1.25),
            absoluteSeconds: z.number().min(0).default(2),
          })
          .prefault({}),
        sweepAfterMinutes: z.number().int().min(10).default(180),
        /** Instance type per architecture that runs the stop and hot-plug checks; the first listed type by default. */
        referenceTypes: z
          .strictObject({
            arm64: z.string().optional(),
            amd64: z.string().optional(),
          })
          .prefault({}),
      })
      .superRefine((bootTest, ctx) => {
        for (const arch of ['arm64', 'amd64'] as const) {
          const reference = bootTest.referenceTypes[arch];
          if (reference !== undefined && !bootTest.instanceTypes[arch].includes(reference))
            ctx.addIssue({
              code: 'custom',
              path: ['referenceTypes', arch],
              message: `"${reference}" is not one of bootTest.instanceTypes.${arch} (${bootTest.instanceTypes[arch].join(', ')})`,
            });
        }
      })
      .prefault({}),
    repro: z
      .strictObject({
        /** Weekly reproducibility checks of builder images; on by default, bounded by the caps below. */
        enabled: z.boolean().default(true),
        /** Development lines checked; empty means every line in `series.lines`. */
        lines: z.array(branchLine).default([]),
        /** Architectures checked: one by default, since both build the same sources. */
        arches: z
          .array(z.enum(['amd64', 'arm64']))
          .min(1)
          .default(['arm64']),
        /** Instance type that builds, per architecture: enough cores to build world and kernel in a few hours. */
        instanceTypes: z
          .strictObject({
            arm64: instanceTypesFor('arm64').default(['c7g.4xlarge']),
            amd64: instanceTypesFor('amd64').default(['c7i.4xlarge']),
          })
          .prefault({}),
        /** Checks started in one week, at most. */
        maxChecksPerWeek: z.number().int().min(0).max(10).default(3),
        /** Instance-hours (each check counted at its whole time budget) started in one week, at most. */
        maxInstanceHoursPerWeek: z.number().min(0).default(24),
        /** What the instance may spend on fetching, building and comparing before it gives up and reports. */
        timeBudgetMinutes: z
          .number()
          .int()
          .min(30)
          .max(24 * 60)
          .default(360),
        /** Of the time budget, what diffoscope may take. */
        diffoscopeMinutes: z.number().int().min(5).max(600).default(60),
        /** After the budget, how long the workflow waits for a summary before it calls the check timed out. */
        graceMinutes: z.number().int().min(5).max(240).default(30),
        /** Between two looks at a running check; tests pass 0. */
        pollIntervalSeconds: z.number().int().min(0).max(3600).default(1800),
        /** Outbound-only internet for the source tree and packages; the instances never accept a connection. */
        internetAccess: z.boolean().default(true),
        /** Where the instance clones the source tree at the image's revision. */
        sourceRepository: z
          .string()
          .regex(/^https:\/\/[A-Za-z0-9./_-]+$/, 'an https URL of letters, digits and . / _ -')
          .default('https://git.FreeBSD.org/src.git'),
        /** Scratch volume for the source tree, objects and images (the builder's own disk is rewritten at boot). */
        scratchVolumeGiB: z.number().int().min(40).max(1000).default(120),
      })
      .refine((repro) => repro.diffoscopeMinutes < repro.timeBudgetMinutes, {
        message: 'repro.diffoscopeMinutes must be less than repro.timeBudgetMinutes',
        path: ['diffoscopeMinutes'],
      })
      .prefault({}),
    retention: z
      .strictObject({
        keepNewest: z.number().int().min(1, 'keep at least the newest build of each series').default(4),
        minAgeDays: days('retention.minAgeDays').default(90),
        prereleaseGraceDays: days('retention.prereleaseGraceDays').default(30),
        /** Release versions whose end-of-life date has passed may be pruned: `{ "13.4": "2025-06-30" }`. */
        releaseEndOfLife: z
          .record(
            z.string().regex(/^\d+\.\d+$/, 'a release version looks like 14.3'),
            z.iso.date('an end-of-life date is written YYYY-MM-DD'),
          )
          .default({}),
        /**
         * Development lines whose end-of-life date has passed lose the keep-newest guarantee: `{ "13-STABLE":
         * "2026-04-30" }`. Their builds then age out like any other (the minimum age and the protections still hold).
         */
        lineEndOfLife: z
          .record(z.string(), z.iso.date('an end-of-life date is written YYYY-MM-DD'))
          .superRefine((dates, ctx) => {
            for (const line of Object.keys(dates))
              if (!/^\d+-(STABLE|CURRENT)$/.test(line))
                ctx.addIssue({
                  code: 'custom',
                  message: `"${line}" is not a development line: write it like 13-STABLE or 15-CURRENT, as in series.lines (release versions such as 13.4 go in retention.releaseEndOfLife)`,
                });
          })
          .default({}),
        orphanSnapshotGraceDays: days('retention.orphanSnapshotGraceDays').default(14),
        /** Keep images launched within this many days; 0 turns the rule off. */
        keepLaunchedWithinDays: days('retention.keepLaunchedWithinDays').default(30),
        softDeleteGraceDays: days('retention.softDeleteGraceDays').default(0),
      })
      .prefault({}),
    safety: z
      .strictObject({
        dryRun: z.boolean().default(true),
        maxDeletionsPerRun: z.number().int().min(0, 'safety.maxDeletionsPerRun cannot be negative').default(500),
        maxDeleteShare: z.number().min(0).max(1, 'a share is between 0 and 1').default(0.5),
        regionConcurrency: z.number().int().min(1).max(40).default(5),
      })
      .prefault({}),
    audit: z
      .strictObject({
        /** Repairs only add what publish would have added (a copy, a permission, a tag, a parameter), never delete. */
        repair: z.boolean().default(true),
      })
      .prefault({}),
    schedules: z
      .strictObject({
        publish: cron.default('cron(0 6 ? * SAT *)'),
        /** After publish and its copies, before prune, so prune sees the SSM parameters the audit moved. */
        audit: cron.default('cron(0 4 ? * SUN *)'),
        prune: cron.default('cron(0 6 ? * SUN *)'),
        sweep: cron.default('cron(30 * * * ? *)'),
        digest: cron.default('cron(0 18 ? * SUN *)'),
        /** Reproducibility checks: Saturday noon, after the week's publish run has copied the builds. */
        repro: cron.default('cron(0 12 ? * SAT *)'),
      })
      .prefault({}),
    report: z
      .strictObject({
        /** Serve the boot-performance page to everyone through CloudFront (the bucket itself stays private). */
        public: z.boolean().default(false),
      })
      .prefault({}),
    notifications: z
      .strictObject({
        /** Mailing-list addresses that receive announcements and the weekly digest. */
        emails: z.array(z.email('not an e-mail address')).default([]),
        /** Operators who receive alarms (failed executions, regressions, leftovers found by the sweeper). */
        alarmEmails: z.array(z.email('not an e-mail address')).default([]),
        subjectPrefix: z.string().max(40).default('[ami-pipeline]'),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const denied = new Set(config.regions.deny);
    if (denied.has(config.buildRegion))
      ctx.addIssue({
        code: 'custom',
        path: ['regions', 'deny'],
        message: `the build region ${config.buildRegion} cannot be denied`,
      });
    for (const allowed of config.regions.allow)
      if (denied.has(allowed))
        ctx.addIssue({
          code: 'custom',
          path: ['regions', 'allow'],
          message: `${allowed} is both allowed and denied; keep it in one list`,
        });
  });

export type PipelineConfig = z.output<typeof configSchema>;
export type PipelineConfigInput = z.input<typeof configSchema>;

/**
 * Says where the value at a configuration path came from (e.g. `--set retention.keepNewest=-1`), or undefined when
 * no source set it (a default).
 */
export type ConfigOrigin = (path: readonly PropertyKey[]) => string | undefined;

/** Validates raw configuration; the error names every bad field, its value, what is allowed and where it was set. */
export function parseConfig(raw: unknown, source = 'configuration', originOf?: ConfigOrigin): PipelineConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.join('.') : '(top level)';
    const value = valueAt(raw, issue.path);
    const unknownKeys = issue.code === 'unrecognized_keys';
    const origins = unknownKeys
      ? [...new Set(issue.keys.map((key) => originOf?.([...issue.path, key])).filter(Boolean))]
      : [originOf?.(issue.path)].filter(Boolean);
    const notes = [
      ...(value === undefined || unknownKeys ? [] : [`got ${JSON.stringify(value)}`]),
      ...(origins.length ? [`from ${origins.join(', ')}`] : []),
    ];
    const message = unknownKeys
      ? `unknown field(s) ${issue.keys.join(', ')}; allowed: ${allowedKeys(issue.path)}`
      : issue.message;
    return `  ${path}: ${message}${notes.length ? ` (${notes.join('; ')})` : ''}`;
  });
  throw new ConfigError(`Invalid ${source}:\n${lines.join('\n')}`, { issues: result.error.issues });
}

/** The FreeBSD defaults. */
export function defaultConfig(): PipelineConfig {
  return parseConfig({});
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = raw;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function allowedKeys(path: readonly PropertyKey[]): string {
  let shape: z.ZodType = configSchema;
  for (const key of path) {
    const object = unwrapObject(shape);
    if (!object) return '?';
    shape = object.shape[key as string] as z.ZodType;
  }
  const object = unwrapObject(shape);
  return object ? Object.keys(object.shape).join(', ') : '?';
}

function unwrapObject(schema: z.ZodType): z.ZodObject | undefined {
  let current: unknown = schema;
  for (let depth = 0; depth < 6 && current; depth++) {
    if (current instanceof z.ZodObject) return current;
    const def = (current as { def?: { innerType?: unknown; in?: unknown; schema?: unknown } }).def;
    current = def?.innerType ?? def?.in ?? def?.schema;
  }
  return undefined;
}

/** Deep merge of plain objects; arrays and scalars from `override` replace those in `base`. */
export function mergeConfig(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) merged[key] = mergeConfig(base[key], value);
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Sets `value` at a dotted path such as `publish.deprecateAfterDays`, parsing JSON-looking strings. */
export function setAtPath(target: Record<string, unknown>, dottedPath: string, value: unknown): void {
  const keys = dottedPath.split('.');
  let node: Record<string, unknown> = target;
  for (const key of keys.slice(0, -1)) {
    if (!isPlainObject(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = typeof value === 'string' ? parseScalar(value) : value;
}

function parseScalar(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
