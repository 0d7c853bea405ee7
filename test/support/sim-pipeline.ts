import { deployLocally, referencedIds } from '../../bin/local/deployment';
import { LOCAL_ACCOUNT, LocalPipeline, type LocalPipelineOptions, synthesizeTemplate } from '../../bin/local/pipeline';
import type { ClientFactory } from '../../lambdas/aws/clients';
import type { PipelineConfig } from '../../lambdas/core/config';
import type { AwsSim } from '../../scripts/aws-sim';

interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/**
 * The stack deployed on a simulated AWS: the resources its functions and state machines refer to (tables, topics,
 * the test subnets and security group) are seeded in the simulation, which has no VPC API, and the local engine
 * runs the synthesized state machines with the simulation's clock. The probe function gets the simulation's probe.
 */
export async function simPipeline(
  sim: AwsSim,
  clients: ClientFactory,
  config: PipelineConfig,
  options: Partial<Omit<LocalPipelineOptions, 'config' | 'clients' | 'deployment'>> = {},
): Promise<LocalPipeline> {
  const template = synthesizeTemplate(config);
  const resources = template.Resources as Record<string, TemplateResource>;
  const region = config.buildRegion;
  const needed = new Set<string>();
  for (const resource of Object.values(resources)) {
    if (resource.Type === 'AWS::Lambda::Function') referencedIds(resource.Properties?.Environment, needed);
    if (resource.Type === 'AWS::StepFunctions::StateMachine')
      referencedIds(resource.Properties?.DefinitionString, needed);
  }
  const subnets = sim.seed.subnets(
    region,
    ['a', 'b', 'c'].map((zone) => `${region}${zone}`),
  );
  let subnetIndex = 0;
  const known: Record<string, string> = {};
  for (const id of [...needed].sort()) {
    const resource = resources[id];
    switch (resource?.Type) {
      case 'AWS::DynamoDB::Table': {
        const schema = resource.Properties?.KeySchema as { AttributeName: string; KeyType: string }[];
        sim.seed.table(region, id, {
          partition: schema.find((k) => k.KeyType === 'HASH')!.AttributeName,
          sort: schema.find((k) => k.KeyType === 'RANGE')?.AttributeName,
        });
        known[id] = id;
        break;
      }
      case 'AWS::SNS::Topic':
        known[id] = sim.seed.topic(region, id);
        break;
      case 'AWS::EC2::Subnet':
        known[id] = subnets[subnetIndex++ % subnets.length]!.subnetId;
        break;
      case 'AWS::EC2::SecurityGroup':
        known[id] = `sg-${(subnetIndex + Object.keys(known).length).toString(16).padStart(17, '0')}`;
        break;
      default:
        break;
    }
  }
  const deployment = await deployLocally(template, clients, {
    region,
    account: LOCAL_ACCOUNT,
    makeResources: false,
    known,
  });
  return LocalPipeline.create({
    config,
    clients,
    deployment,
    clock: sim.clock,
    services: (fn) => (fn.entry === 'boot/probe.ts' ? { probe: sim.probe } : {}),
    ...options,
  });
}
