import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfnResource, type Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { acceptedCfnLintWarnings, cfnLintAll, type SynthesizedPipeline, synthesizePipeline } from '../support/cdk';

type Json = unknown;
// biome-ignore lint/suspicious/noExplicitAny: synthesized resources are read field by field as CloudFormation has them
type Resources = Record<string, { Type: string; Properties?: any }>;

/** A template value as cdk-nag names it in a finding: `<AWS::Partition>`, `<LogicalId.Arn>`, joins flattened. */
function nagName(value: Json): string {
  // cdk-nag writes `${name}` (a substitution, or a policy variable in a plain string) as `<name>`.
  if (typeof value === 'string') return value.replace(/\$\{([^}]+)\}/g, '<$1>');
  const object = value as Record<string, Json>;
  if ('Ref' in object) return `<${object.Ref}>`;
  if ('Fn::GetAtt' in object) return `<${(object['Fn::GetAtt'] as string[]).join('.')}>`;
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, Json[]];
    return parts.map(nagName).join(separator);
  }
  if ('Fn::Sub' in object) return String(object['Fn::Sub']).replace(/\$\{([^}]+)\}/g, '<$1>');
  return JSON.stringify(value);
}

const list = (value: Json): Json[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

interface Statement {
  readonly Effect: string;
  readonly Action: Json;
  readonly Resource: Json;
  readonly Condition?: Json;
}

/** The IAM statements and managed policies of every resource under `scope`, as synthesized. */
function iamOf(stack: Stack, scope: IConstruct, resources: Resources) {
  const ids = new Set(
    scope.node
      .findAll()
      .filter((c): c is CfnResource => CfnResource.isCfnResource(c))
      .map((c) => stack.getLogicalId(c)),
  );
  const statements: Statement[] = [];
  const managedPolicies: string[] = [];
  let functions = 0;
  let tablesWithoutRecovery = 0;
  const distributions: Record<string, Json>[] = [];
  for (const id of ids) {
    const resource = resources[id];
    if (!resource) continue;
    if (resource.Type === 'AWS::IAM::Policy') statements.push(...resource.Properties.PolicyDocument.Statement);
    if (resource.Type === 'AWS::IAM::Role') {
      for (const policy of resource.Properties.Policies ?? []) statements.push(...policy.PolicyDocument.Statement);
      managedPolicies.push(...list(resource.Properties.ManagedPolicyArns).map(nagName));
    }
    if (resource.Type === 'AWS::Lambda::Function') functions++;
    if (resource.Type === 'AWS::CloudFront::Distribution') distributions.push(resource.Properties.DistributionConfig);
    const recovery = resource.Properties?.PointInTimeRecoverySpecification as
      | { PointInTimeRecoveryEnabled?: boolean }
      | undefined;
    if (resource.Type === 'AWS::DynamoDB::Table' && !recovery?.PointInTimeRecoveryEnabled) tablesWithoutRecovery++;
  }
  return { statements, managedPolicies, functions, tablesWithoutRecovery, distributions };
}

/** Why a bucket without access logs of its own is not another bucket's access-log destination, or undefined. */
function accessLogDestination(stack: Stack, scope: IConstruct, resources: Resources): string | undefined {
  const bucket = CfnResource.isCfnResource(scope.node.defaultChild) ? stack.getLogicalId(scope.node.defaultChild) : '';
  if (resources[bucket]?.Type !== 'AWS::S3::Bucket') return 'not a bucket';
  const logsHere = Object.values(resources).some(
    (r) => r.Type === 'AWS::S3::Bucket' && r.Properties?.LoggingConfiguration?.DestinationBucketName?.Ref === bucket,
  );
  return logsHere ? undefined : 'no bucket sends its access logs there';
}

/** Why an acknowledgement is not true of the template, or undefined when it is. */
function falsehood(
  stack: Stack,
  scope: IConstruct,
  id: string,
  reason: string,
  resources: Resources,
): string | undefined {
  const { statements, managedPolicies, functions, tablesWithoutRecovery, distributions } = iamOf(
    stack,
    scope,
    resources,
  );
  const allows = statements.filter((s) => s.Effect === 'Allow');
  const finding = /^AwsSolutions-(\w+)\[(\w+)::(.*)\]$/.exec(id);
  if (!finding) {
    if (id === 'AwsSolutions-L1') return functions > 0 ? undefined : 'no Lambda function under it';
    const distributionRules: Record<string, [(d: Record<string, Json>) => boolean, string]> = {
      'AwsSolutions-CFR1': [(d) => !d.Restrictions, 'its distribution has a geo restriction'],
      'AwsSolutions-CFR2': [(d) => !d.WebACLId, 'its distribution has a web ACL'],
      'AwsSolutions-CFR3': [(d) => !d.Logging, 'its distribution logs'],
      'AwsSolutions-CFR4': [
        (d) => !(d.ViewerCertificate as { AcmCertificateArn?: string } | undefined)?.AcmCertificateArn,
        'its distribution has a certificate of its own',
      ],
    };
    const distributionRule = distributionRules[id];
    if (distributionRule) {
      if (distributions.length === 0) return 'no distribution under it';
      if (/HTTPS only/.test(reason) && distributions.some((d) => JSON.stringify(d).includes('"allow-all"')))
        return 'its reason says HTTPS only, but a behaviour allows HTTP';
      return distributions.every(distributionRule[0]) ? undefined : distributionRule[1];
    }
    if (id === 'AwsSolutions-DDB3')
      return tablesWithoutRecovery > 0 ? undefined : 'every table under it has point-in-time recovery';
    if (id === 'AwsSolutions-S1') return accessLogDestination(stack, scope, resources);
    return 'an acknowledgement this test cannot check';
  }
  const [, rule, kind, subject] = finding;
  if (rule === 'IAM5' && kind === 'Resource') {
    const naming = allows.filter((s) => list(s.Resource).map(nagName).includes(subject!));
    if (naming.length === 0) return 'no statement names that resource';
    if (/condition/i.test(reason) && naming.some((s) => !s.Condition))
      return `its reason speaks of conditions, but ${naming.filter((s) => !s.Condition).length} statement(s) naming it have none`;
    return undefined;
  }
  if (rule === 'IAM5' && kind === 'Action')
    return allows.some((s) => list(s.Action).includes(subject)) ? undefined : 'no statement grants that action';
  if (rule === 'IAM4' && kind === 'Policy')
    return managedPolicies.includes(subject!) ? undefined : 'no role under it has that managed policy';
  return 'an acknowledgement this test cannot check';
}

const NAG_PREFIX = 'Annotation::AwsSolutions-';

/**
 * The stack in the configurations that change its shape, each synthesized once with cdk-nag and CDK's built-in
 * CloudFormation validation active (synth throws on an unacknowledged nag finding), then checked by the
 * acknowledgements' own truth, by the validation's report and by cfn-lint.
 */
const VARIANTS: readonly (readonly [string, Parameters<typeof synthesizePipeline>[0]])[] = [
  [
    'default configuration with mail subscriptions',
    { notifications: { emails: ['freebsd-snapshots@example.org'], alarmEmails: ['ec2-maintainer@example.org'] } },
  ],
  [
    'outbound internet, soft delete, region lists and a public boot-performance page',
    {
      bootTest: { internetAccess: true },
      retention: { softDeleteGraceDays: 7 },
      regions: { allow: ['us-east-1', 'eu-west-1'], deny: ['ap-southeast-2'] },
      report: { public: true },
    },
  ],
];

const synthesized = new Map<string, SynthesizedPipeline>();
beforeAll(() => {
  for (const [name, config] of VARIANTS) synthesized.set(name, synthesizePipeline(config, false, true));
});

describe('cdk-nag acknowledgements', () => {
  test.each(VARIANTS.map(([name]) => [name]))('are each true of the template synthesized with %s', (name) => {
    const { stack, template } = synthesized.get(name)!;
    const resources = template.toJSON().Resources as Resources;
    const acknowledgements = stack.node
      .findAll()
      .flatMap((scope) =>
        scope.node.metadata
          .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((m) =>
            Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ scope, id, reason })),
          ),
      )
      // cdk-nag's findings are recorded as annotations; aws-cdk-lib's own acknowledgements of CloudFormation
      // validation rules are not the project's to justify.
      .filter(({ id }) => id.startsWith(NAG_PREFIX))
      .map((a) => ({ ...a, id: a.id.slice('Annotation::'.length) }));

    const untrue = acknowledgements.flatMap(({ scope, id, reason }) => {
      const why = falsehood(stack, scope, id, reason, resources);
      return why ? [`${scope.node.path}: ${id}: ${why}`] : [];
    });

    expect(acknowledgements.length).toBeGreaterThan(10);
    expect(untrue).toEqual([]);
  });
});

describe('cfn-lint', () => {
  test('finds no errors and only warnings accepted with a reason, in every configuration', () => {
    const accepted = acceptedCfnLintWarnings();
    // One run over every template: cfn-lint loads its specifications once, which costs more than a template's checks.
    const findings = cfnLintAll(VARIANTS.map(([name]) => synthesized.get(name)!.templatePath));

    expect(findings.filter((f) => f.Level === 'Error')).toEqual([]);
    expect(findings.filter((f) => !accepted[f.Rule.Id])).toEqual([]);
    for (const reason of Object.values(accepted)) expect(reason.length).toBeGreaterThan(20);
  });
});

describe("CDK's built-in CloudFormation validation", () => {
  test.each(VARIANTS.map(([name]) => [name]))('reports no violation in the template synthesized with %s', (name) => {
    const report = JSON.parse(
      readFileSync(join(synthesized.get(name)!.assemblyDirectory, 'validation-report.json'), 'utf8'),
    ) as { pluginReports: { pluginName: string; violations: unknown[] }[] };

    expect(report.pluginReports.flatMap((r) => r.violations.map((v) => ({ plugin: r.pluginName, v })))).toEqual([]);
  });
});
