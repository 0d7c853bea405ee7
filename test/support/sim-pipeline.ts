import { createHash } from 'node:crypto';
import type { ExecutionReport, LocalExecution } from '../../bin/local/engine';
import { LocalPipeline, type LocalPipelineOptions, stackTemplate } from '../../bin/local/pipeline';
import type { ClientFactory } from '../../lambdas/aws/clients';
import { type PipelineConfigInput, parseConfig } from '../../lambdas/core/config';
import { type AwsSim, awaitRealWork } from '../../scripts/aws-sim';

/**
 * The stack deployed into a simulated account: its topics and tables made there, its test subnets the account's
 * own (the simulation has no VPC API), its probe function watching the simulated instances. Call it inside
 * `runInVirtualTime`, so that everything the pipeline does runs on the simulation's clock.
 */
export async function simulatedPipeline(
  sim: AwsSim,
  configInput: PipelineConfigInput,
  options: Partial<Omit<LocalPipelineOptions, 'config' | 'clients'>> & {
    readonly clients?: ClientFactory;
    readonly maxAttempts?: number;
  } = {},
): Promise<LocalPipeline> {
  const { maxAttempts, clients, ...rest } = options;
  const config = parseConfig(configInput);
  // A template not cached yet comes from the test runner's template service, another process.
  const template = await awaitRealWork(stackTemplate(config));
  const known: Record<string, string> = {};
  const subnets = sim.seed.subnets(config.buildRegion);
  let subnet = 0;
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type === 'AWS::EC2::VPC') known[id] = subnets[0]!.vpcId;
    if (resource.Type === 'AWS::EC2::Subnet') known[id] = subnets[subnet++ % subnets.length]!.subnetId;
    if (resource.Type === 'AWS::EC2::SecurityGroup')
      known[id] = `sg-${createHash('sha256').update(id).digest('hex').slice(0, 17)}`;
  }
  return LocalPipeline.create({
    config,
    clients: clients ?? sim.clientFactory(maxAttempts === undefined ? {} : { maxAttempts }),
    known,
    clock: sim.clock,
    services: (fn) => (fn.entry === 'boot/probe.ts' ? { probe: sim.probe } : {}),
    ...rest,
  });
}

/** The final state of an execution: its output, or what its Fail state received. */
export function finalState(execution: LocalExecution, report: ExecutionReport): Record<string, unknown> {
  if (report.output) return report.output as Record<string, unknown>;
  const failed = execution.history.find((e) => e.type === 'FailStateEntered');
  return failed ? JSON.parse(failed.stateEnteredEventDetails!.input!) : {};
}
