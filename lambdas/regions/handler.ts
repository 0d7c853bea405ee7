import * as z from 'zod';
import { invocationClients } from '../aws/runtime';
import { resolveRegions } from '../aws/regions';
import { parseEvent } from '../shared/event';
import { configFromEnv } from '../shared/env';
import { Logger } from '../shared/logger';

const eventSchema = z.object({
  /** Restricts the run to these regions (a manual start); they must still be enabled and allowed. */
  regions: z.array(z.string()).optional(),
});

const logger = new Logger({ service: 'regions' });

/** Lists the regions this run works in, each with why it is in or out. */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const input = parseEvent(eventSchema, event ?? {}, 'regions');
  const config = configFromEnv();
  const selection = await resolveRegions(clients, config, input.regions);
  logger.info('regions selected', { count: selection.selected.length, regions: selection.selected });
  for (const warning of selection.warnings) logger.warn('region not reported by the account', { warning });
  return { buildRegion: config.buildRegion, regions: selection.selected, decisions: selection.decisions };
}
