import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PipelineConfig, type PipelineConfigInput, parseConfig } from '../../lambdas/core/config';
import { synthesizePipeline } from '../support/cdk';
import type { AccountFacts, ResourcePolicyKind } from './requests';
import {
  type CfnTemplate,
  type DeployedFunction,
  type DeployedInstanceRole,
  DeployedTemplate,
  deployedFunctions,
  deployedInstanceRoles,
  type PolicyDocument,
} from './template';

const PROJECT_ROOT = join(__dirname, '..', '..');

/** The account the proof deploys to: the emulator's account, as the synthesized stack names it. */
export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const OTHER_REGION = 'eu-west-1';

/**
 * The configuration the proof synthesizes and runs the week with: two regions (the build region and one more), a
 * short hot-plug check, a retention that prunes the aged builds seeded for the week, and one reproducibility check
 * a week (the newest 15-CURRENT arm64 builder) with a short budget, so that the week's check reports, and an aborted
 * run's leftovers become the sweeper's, within hours of virtual time.
 */
export const PROOF_CONFIG_INPUT: PipelineConfigInput = {
  buildRegion: REGION,
  regions: { allow: [REGION, OTHER_REGION] },
  publish: { pollIntervalSeconds: 0 },
  bootTest: {
    instanceTypes: { amd64: ['c7i.large', 'm7a.large'], arm64: ['c7g.large'] },
    hotplugCycles: 2,
    regression: { weeks: 4 },
  },
  retention: { keepNewest: 1, minAgeDays: 0 },
  safety: { dryRun: false, maxDeleteShare: 1 },
  notifications: { emails: ['freebsd-snapshots@example.org'], alarmEmails: ['ec2-maintainer@example.org'] },
  repro: {
    lines: ['15-CURRENT'],
    maxChecksPerWeek: 1,
    timeBudgetMinutes: 60,
    diffoscopeMinutes: 10,
    graceMinutes: 15,
    pollIntervalSeconds: 900,
  },
};

export const PROOF_CONFIG: PipelineConfig = parseConfig(PROOF_CONFIG_INPUT);

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** A hash of everything a synthesis depends on: the CDK code, the handlers' shared modules, the locked packages. */
function synthesisInputsHash(input: PipelineConfigInput): string {
  const hash = createHash('sha256').update(JSON.stringify(input));
  const files = [...filesUnder(join(PROJECT_ROOT, 'lib')), ...filesUnder(join(PROJECT_ROOT, 'lambdas'))]
    .filter((f) => f.endsWith('.ts'))
    .sort();
  const inputs = [...files, join(PROJECT_ROOT, 'test', 'support', 'cdk.ts'), join(PROJECT_ROOT, 'package-lock.json')];
  for (const file of inputs) hash.update(file).update(readFileSync(file));
  return hash.digest('hex').slice(0, 24);
}

/**
 * The template `cdk synth` makes for `input` (cdk-nag active, no bundling). One synthesis takes seconds, so the proof's
 * test files share it through a file keyed by a hash of every input of the synthesis.
 */
export function synthesizedTemplate(input: PipelineConfigInput = PROOF_CONFIG_INPUT): CfnTemplate {
  const dir = join(tmpdir(), 'ami-pipeline-authz');
  const path = join(dir, `template-${synthesisInputsHash(input)}.json`);
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as CfnTemplate;
  const template = synthesizePipeline(input).template.toJSON() as CfnTemplate;
  mkdirSync(dir, { recursive: true });
  const partial = `${path}.${process.pid}`;
  writeFileSync(partial, JSON.stringify(template));
  renameSync(partial, path);
  return template;
}

/** Who makes calls for the stack: a function, or the instances that run with one of its instance profiles. */
export interface StackPrincipal {
  /** The function's or the role's logical id. */
  readonly logicalId: string;
  /** The handler file of a function; `instance role` for the role of an instance profile. */
  readonly entry: string;
  readonly roleArn: string;
  readonly policies: DeployedFunction['policies'];
  readonly managedPolicyArns: readonly string[];
}

/** The stack as deployed into the proof's account: functions with their policies, resource policies, lookups. */
export class ProvenStack {
  readonly deployed: DeployedTemplate;
  readonly functions: Map<string, DeployedFunction>;
  /** The roles instances of the stack run with (through its instance profiles), by logical id. */
  readonly instanceRoles: Map<string, DeployedInstanceRole>;

  constructor(template: CfnTemplate, physicalIds: Readonly<Record<string, string>> = {}) {
    this.deployed = new DeployedTemplate(template, {
      partition: 'aws',
      account: ACCOUNT,
      region: REGION,
      stackName: 'AmiPipeline',
      physicalIds,
    });
    this.functions = deployedFunctions(this.deployed);
    this.instanceRoles = deployedInstanceRoles(this.deployed);
  }

  /** The function or instance role a recorded call ran as, by logical id. */
  principal(logicalId: string): StackPrincipal | undefined {
    const fn = this.functions.get(logicalId);
    if (fn) return fn;
    const role = this.instanceRoles.get(logicalId);
    return role && { ...role, entry: 'instance role' };
  }

  /** The logical id of the function whose handler is `entry` (e.g. `publish/discover.ts`). */
  functionOf(entry: string): DeployedFunction {
    const found = [...this.functions.values()].filter((f) => f.entry === entry);
    if (found.length !== 1) throw new Error(`${found.length} functions run ${entry}`);
    return found[0]!;
  }

  /** The policy of a topic (all its `AWS::SNS::TopicPolicy` statements), a KMS key, a bucket or a function. */
  resourcePolicy(kind: ResourcePolicyKind, arn: string): PolicyDocument | undefined {
    const { deployed } = this;
    if (kind === 'bucket') {
      const id = deployed
        .idsOf('AWS::S3::BucketPolicy')
        .find((p) => `arn:aws:s3:::${deployed.resolve(deployed.resource(p).Properties!.Bucket)}` === arn);
      return id ? (deployed.resolve(deployed.resource(id).Properties!.PolicyDocument) as PolicyDocument) : undefined;
    }
    if (kind === 'topic') {
      const statements = deployed.idsOf('AWS::SNS::TopicPolicy').flatMap((id) => {
        const properties = deployed.resolve(deployed.resource(id).Properties) as {
          Topics: string[];
          PolicyDocument: PolicyDocument;
        };
        return properties.Topics.includes(arn) ? properties.PolicyDocument.Statement : [];
      });
      return statements.length > 0 ? { Version: '2012-10-17', Statement: statements } : undefined;
    }
    if (kind === 'key') {
      const id = deployed.idsOf('AWS::KMS::Key').find((k) => deployed.getAtt(k, 'Arn') === arn);
      return id ? (deployed.resolve(deployed.resource(id).Properties!.KeyPolicy) as PolicyDocument) : undefined;
    }
    // A function's policy is made of its AWS::Lambda::Permission resources.
    const statements = deployed.idsOf('AWS::Lambda::Permission').flatMap((id) => {
      const permission = deployed.resolve(deployed.resource(id).Properties) as Record<string, string>;
      if (permission.FunctionName !== arn) return [];
      const conditions: Record<string, Record<string, string>> = {};
      if (permission.SourceArn) conditions.ArnLike = { 'aws:SourceArn': permission.SourceArn };
      if (permission.SourceAccount) conditions.StringEquals = { 'aws:SourceAccount': permission.SourceAccount };
      return [
        {
          Effect: 'Allow',
          Principal: permission.Principal!.endsWith('.amazonaws.com')
            ? { Service: permission.Principal }
            : { AWS: permission.Principal },
          Action: permission.Action,
          Resource: arn,
          ...(Object.keys(conditions).length > 0 && { Condition: conditions }),
        },
      ];
    });
    return statements.length > 0 ? { Version: '2012-10-17', Statement: statements } : undefined;
  }

  /** Account facts for the request mapping. */
  get facts(): AccountFacts {
    const { deployed } = this;
    return {
      partition: 'aws',
      account: ACCOUNT,
      topicKey: (topicArn) => {
        const id = deployed.idsOf('AWS::SNS::Topic').find((t) => deployed.ref(t) === topicArn);
        const key = id ? deployed.resolve(deployed.resource(id).Properties?.KmsMasterKeyId) : undefined;
        if (typeof key !== 'string') return undefined;
        return key.startsWith('arn:') ? key : `arn:aws:kms:${REGION}:${ACCOUNT}:key/${key}`;
      },
      roleUniqueId: (roleArn) => {
        const id = deployed.idsOf('AWS::IAM::Role').find((r) => deployed.getAtt(r, 'Arn') === roleArn);
        return id && deployed.getAtt(id, 'RoleId');
      },
      instanceProfileRoles: (profileArn) =>
        [...this.instanceRoles.values()]
          .filter((r) => r.instanceProfileArns.includes(profileArn))
          .map((r) => r.roleArn),
    };
  }
}
