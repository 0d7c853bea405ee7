import { describeError } from '../../lambdas/core/errors';
import type { ExecutionReport } from './engine';
import type { LocalPipeline } from './pipeline';

/** The digest function's answer. */
export interface DigestOutcome {
  readonly subject: string;
  readonly text: string;
  readonly needsAttention: boolean;
  readonly messageId?: string;
}

/** What one local weekly cycle ran: every execution (the boot test started by publish included) and the digest. */
export interface CycleOutcome {
  readonly executions: readonly ExecutionReport[];
  readonly digest?: DigestOutcome;
  /** Why the digest function failed, when it did (it mails what it could read before failing). */
  readonly digestError?: string;
}

export interface CycleInputs {
  /** Input of the publish execution, e.g. `{ pollSeconds: 0 }`. */
  readonly publish?: Record<string, unknown>;
  /** Input of the audit execution, e.g. `{ repair: false }`; by default the configured `audit.repair` decides. */
  readonly audit?: Record<string, unknown>;
  /** Input of the prune execution, e.g. `{ execute: true }`; a scheduled start passes `{}`. */
  readonly prune?: Record<string, unknown>;
}

/**
 * A week as the schedules run it in an account: publish (which starts the boot test of what it published), the
 * audit, prune, then the digest, each part started only once the one before has ended, so the digest reports the
 * whole week.
 */
export async function runCycle(pipeline: LocalPipeline, inputs: CycleInputs = {}): Promise<CycleOutcome> {
  await pipeline.publish(inputs.publish ?? {}).done;
  await pipeline.settled();
  await pipeline.audit(inputs.audit ?? {}).done;
  await pipeline.prune(inputs.prune ?? {}).done;
  const executions = await pipeline.settled();
  try {
    const digest = (await pipeline.digest()) as DigestOutcome;
    return { executions, digest };
  } catch (error) {
    return { executions, digestError: describeError(error).message };
  }
}
