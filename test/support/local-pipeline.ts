import { LocalPipeline, type LocalPipelineOptions } from '../../bin/local/pipeline';
import { ClientFactory, type ClientPlugin } from '../../lambdas/aws/clients';
import { type PipelineConfigInput, parseConfig } from '../../lambdas/core/config';
import { type MotoGaps, motoGapsPlugin, newMotoGaps } from './moto-gaps';

/** The stack deployed locally on this test file's emulator, with stand-ins for the EC2 APIs moto lacks. */
export interface EmulatorPipeline {
  readonly pipeline: LocalPipeline;
  /** Clients on the emulator with the stand-ins (for seeding and reading state back). */
  readonly clients: ClientFactory;
  readonly gaps: MotoGaps;
}

/**
 * Deploys the stack for `config` on the emulator and returns it ready to run its state machines with the handlers
 * in-process. `plugins` go on the functions' clients only (faults to inject into the run under test).
 */
export async function emulatorPipeline(
  config: PipelineConfigInput,
  options: {
    readonly plugins?: readonly ClientPlugin[];
    readonly gaps?: MotoGaps;
    readonly maxAttempts?: number;
    readonly retryMode?: 'standard' | 'adaptive';
  } & Partial<Omit<LocalPipelineOptions, 'config' | 'clients'>> = {},
): Promise<EmulatorPipeline> {
  const { plugins = [], gaps = newMotoGaps(), maxAttempts = 2, retryMode, ...rest } = options;
  const clients = new ClientFactory({ maxAttempts, retryMode, plugins: [motoGapsPlugin(gaps)] });
  const pipeline = await LocalPipeline.create({
    config: parseConfig(config),
    clients: clients.withPlugins(...plugins),
    ...rest,
  });
  return { pipeline, clients, gaps };
}
