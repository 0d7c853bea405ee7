/**
 * AWS's commercial regions today, every one of which an account may enable: the history budget leaves room for a run
 * over all of them (the configuration takes any region name, so this is a planning figure, not a list).
 */
export const COMMERCIAL_REGION_COUNT = 34;

/** Events Step Functions records for one Standard execution (AWS's hard limit). */
export const HISTORY_EVENT_CAP = 25_000;
/** Share of the cap the planned polls may use; the rest absorbs retried tasks and caught failures. */
const HISTORY_SHARE = 0.8;

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

/** Events of one poll of a region: the CopiesPending choice, the wait and the Poll task. */
export const EVENTS_PER_POLL = CHOICE + WAIT + TASK;
/**
 * Events of a region besides its polls: the iteration, Prepare, the last CopiesPending choice, Finalize, the
 * ParametersWritten choice, the wait for SSM's validation and VerifyParameters.
 */
export const EVENTS_PER_REGION = MAP_ITERATION + TASK + CHOICE + TASK + CHOICE + WAIT + TASK;
/**
 * Events outside the region Map: the execution, Regions, Discover, AnythingToPublish, the Map itself, Announce,
 * NewBuilds, StartBootTest, AllPublished and the final state.
 */
export const EVENTS_PER_EXECUTION = EXECUTION + TASK + TASK + CHOICE + MAP + TASK + CHOICE + TASK + CHOICE + SUCCEED;

/** History events of one publish execution whose regions each poll `pollsPerRegion` times. */
export function publishHistoryEvents(regions: number, pollsPerRegion: number): number {
  return EVENTS_PER_EXECUTION + regions * (EVENTS_PER_REGION + pollsPerRegion * EVENTS_PER_POLL);
}

/**
 * Polls one region may make so that an execution over every commercial region stays within its share of the
 * history cap, whatever the number of images (polling is per region, never per image).
 */
export function regionPollBudget(regions = COMMERCIAL_REGION_COUNT): number {
  const available = HISTORY_EVENT_CAP * HISTORY_SHARE - EVENTS_PER_EXECUTION - regions * EVENTS_PER_REGION;
  return Math.max(1, Math.floor(available / (regions * EVENTS_PER_POLL)));
}

/** Longest wait between two polls of a region while the first half of its budget of polls lasts. */
export const MAX_POLL_SECONDS = 600;

/** Where a region's polling stands, as the next wait is chosen from it. */
export interface PollState {
  /** The configured first interval; 0 polls without waiting (tests). */
  readonly pollSeconds: number;
  /** The wait before the poll just made. */
  readonly currentSeconds: number;
  /** Whether copies started at this step: their first check comes after `pollSeconds` again. */
  readonly started: boolean;
  /** Polls made so far in the region. */
  readonly polls: number;
  /** Seconds left until the region's horizon, when every copy it may start is past its deadline. */
  readonly secondsLeft: number;
  readonly budget: number;
}

/**
 * Seconds before the next poll of a region: `pollSeconds` right after copies start (a quick copy is seen early),
 * otherwise doubling up to 600 s. Once half the region's budget of polls is used (a region that keeps starting copies,
 * or copies slower than hours), the wait doubles without bound and no longer starts over, so the region reaches its
 * horizon within its budget; it never waits past the horizon, after which no copy can still be pending.
 */
export function nextPollSeconds(state: PollState): number {
  if (state.pollSeconds <= 0) return 0;
  const current = Math.max(state.currentSeconds, state.pollSeconds);
  const late = state.polls >= Math.floor(state.budget / 2);
  let wait: number;
  if (late) wait = current * 2;
  else if (state.started) wait = state.pollSeconds;
  else wait = Math.min(current * 2, Math.max(MAX_POLL_SECONDS, state.pollSeconds));
  const left = Math.ceil(state.secondsLeft);
  if (left > 0) wait = Math.min(wait, left);
  return Math.max(1, wait);
}

/** The publish settings the workflow's time limits follow from. */
export interface PublishTimings {
  readonly copyTimeoutMinutes: number;
  readonly maxCopyAttempts: number;
  readonly copyConcurrency: number;
  readonly maxSourcesPerRun: number;
  readonly regionConcurrency: number;
}

/** Time the execution gets beyond its regions' copies for discovery, finalizing, verifying and announcing. */
export const EXECUTION_MARGIN_MINUTES = 60;

/**
 * How long one region may take: its copies start in waves of `copyConcurrency` (one wave with the defaults), and a
 * copy that fails late may start again with a full timeout of its own, up to `maxCopyAttempts` times; each attempt
 * may be seen done up to one longest poll interval late.
 */
export function regionHorizonMinutes(timings: PublishTimings): number {
  const waves = Math.ceil(timings.maxSourcesPerRun / timings.copyConcurrency);
  return waves * timings.maxCopyAttempts * (timings.copyTimeoutMinutes + MAX_POLL_SECONDS / 60);
}

/**
 * The execution timeout: every region's horizon, in waves of `regionConcurrency` over the commercial regions (one wave
 * with the defaults), plus the margin. An execution timeout skips every Catch, so it must never cut a region short.
 */
export function publishExecutionTimeoutMinutes(timings: PublishTimings, regions = COMMERCIAL_REGION_COUNT): number {
  const regionWaves = Math.ceil(regions / timings.regionConcurrency);
  return regionWaves * regionHorizonMinutes(timings) + EXECUTION_MARGIN_MINUTES;
}
