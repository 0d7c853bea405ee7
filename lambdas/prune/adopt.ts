import * as z from 'zod';
import { runAdopt } from '../aws/prune';
import { invocationClients } from '../aws/runtime';
import { resolveRegions } from '../aws/regions';
import { parseEvent } from '../shared/event';
import { configFromEnv } from '../shared/env';
import { currentInvocation } from '../shared/invocation';
import { Logger } from '../shared/logger';

const eventSchema = z.object({
  regions: z.array(z.string()).optional(),
  /** Writes the tags; absent: `!safety.dryRun`. */
  execute: z.boolean().optional(),
});

const logger = new Logger({ service: 'prune-adopt' });

/** Tags pre-existing parseable images and their snapshots as managed (started by hand, once per account). */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const clock = currentInvocation().clock;
  const input = parseEvent(eventSchema, event ?? {}, 'prune-adopt');
  const config = configFromEnv();
  const regions = (await resolveRegions(clients, config, input.regions)).selected;
  const result = await runAdopt({
    config,
    clients,
    now: new Date(clock.now()),
    logger,
    regions,
    execute: input.execute,
  });
  const planned = result.plan.regions.flatMap((r) => r.entries.filter((e) => e.action === 'tag'));
  const summary = {
    executed: result.executed,
    planned: planned.length,
    tagged: result.tagged.length,
    failed: result.failed,
    failedRegions: result.failedRegions,
  };
  logger.info('adopt summary', { ...summary, failed: result.failed.length });
  return summary;
}
