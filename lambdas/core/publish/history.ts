import { nextPollSeconds } from './copies';

/** Events Step Functions records for one Standard execution (AWS's hard limit). */
export const HISTORY_EVENT_CAP = 25_000;

// Events each state type writes to the history of a Standard execution (JSONPath, Lambda invoke integration):
// a Task enters, schedules, starts, succeeds and exits; Choice, Wait, Pass and Succeed enter and exit; a Map enters,
// starts, succeeds and exits, plus one started and one succeeded event per iteration.
const TASK = 5;
const CHOICE = 2;
const WAIT = 2;
const SUCCEED = 2;
const MAP = 4;
const MAP_ITERATION = 2;
const EXECUTION = 2;

/**
 * Polls a region needs at most before its copies time out: a first look at once, then the poll interval doubling
 * from `firstSeconds` up to `maxSeconds`.
 */
export function pollsWithinTimeout(timeoutSeconds: number, firstSeconds: number, maxSeconds: number): number {
  if (firstSeconds <= 0) return Number.POSITIVE_INFINITY;
  let polls = 1;
  let elapsed = 0;
  let wait = firstSeconds;
  while (elapsed <= timeoutSeconds) {
    elapsed += wait;
    polls++;
    wait = nextPollSeconds(wait, maxSeconds);
  }
  return polls;
}

/**
 * History events of one publish execution whose regions each poll `pollsPerRegion` times: Regions, Discover,
 * NothingToPublish?, the region Map (per region: Prepare, then Choice + Wait + Poll per poll, a last Choice,
 * Finalize), Announce, Complete?, Succeed. Polling is per region, so the image count does not enter.
 */
export function publishHistoryEvents(regions: number, pollsPerRegion: number): number {
  const perRegion = MAP_ITERATION + TASK + pollsPerRegion * (CHOICE + WAIT + TASK) + CHOICE + TASK;
  return EXECUTION + TASK + TASK + CHOICE + MAP + regions * perRegion + TASK + CHOICE + SUCCEED;
}
