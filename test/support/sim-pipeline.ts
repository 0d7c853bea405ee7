import { deployLocally } from '../../bin/local/deployment';
import type { ExecutionReport, LocalExecution } from '../../bin/local/engine';
import { LOCAL_ACCOUNT, LocalPipeline, synthesizeTemplate } from '../../bin/local/pipeline';
import type { ClientFactory } from '../../lambdas/aws/clients';
import { type PipelineConfigInput, parseConfig } from '../../lambdas/core/config';
import type { AwsSim } from '../../scripts/aws-sim';

/** The stack deployed on a simulated AWS, its state machines run by the local engine on the simulation's clock. */
export interface SimPipeline {
  readonly pipeline: LocalPipeline;
  readonly clients: ClientFactory;
}

/**
 * Deploys the stack for `config` on `sim` (call it inside `runInVirtualTime`). The simulation keeps no VPCs, so the
 * boot test's network gets ids of its own; topics and tables are made in the simulation.
 */
export async function simPipeline(sim: AwsSim, config: PipelineConfigInput): Promise<SimPipeline> {
  const parsed = parseConfig(config);
  const clients = sim.clientFactory({ maxAttempts: 5 });
  const template = synthesizeTemplate(parsed);
  const network: Record<string, string> = {
    'AWS::EC2::VPC': 'vpc-0000000000000s1m',
    'AWS::EC2::Subnet': 'subnet-00000000000s1m',
    'AWS::EC2::SecurityGroup': 'sg-000000000000s1m',
  };
  const known: Record<string, string> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (network[resource.Type]) known[id] = network[resource.Type]!;
  }
  const deployment = await deployLocally(template, clients, {
    region: parsed.buildRegion,
    account: LOCAL_ACCOUNT,
    known,
  });
  const pipeline = await LocalPipeline.create({ config: parsed, clients, deployment, clock: sim.clock });
  return { pipeline, clients };
}

/** The final state of a publish execution: its output, or what its Fail state received. */
export function finalState(execution: LocalExecution, report: ExecutionReport): Record<string, unknown> {
  if (report.output) return report.output as Record<string, unknown>;
  const failed = execution.history.find((e) => e.type === 'FailStateEntered');
  return failed ? JSON.parse(failed.stateEnteredEventDetails!.input!) : {};
}
