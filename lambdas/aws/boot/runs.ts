import { type AttributeValue, type DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { LaunchSpec } from '../../core/boot/plan';
import { type BootRunResult, bootIntervals } from '../../core/boot/result';
import { PipelineError } from '../../core/errors';
import type { Clock } from '../rate-limiter';
import type { LaunchOutcome } from './instances';

/** Partition and sort key names of the boot run table, and its time-to-live attribute. */
export const RUN_KEYS = { partition: 'runId', sort: 'item', expiresAt: 'expiresAt' } as const;

/** How long a run's plans and results are kept: long enough for the operator and the week's digest to read them. */
export const RUN_RECORD_DAYS = 30;

const RUN_PREFIX = 'run';
const LAUNCH_PREFIX = 'launch#';
/** What each step adds to a launch, each in an item of its own: no step reads, changes and writes back another's. */
const PARTS = { outcome: 'launch', running: 'running', result: 'result' } as const;
/** Items written at once while a plan is stored. */
const WRITE_CONCURRENCY = 16;

/** Where one planned launch sits: its batch (0-based) and its slot in the batch (1-based, as the Map hands it out). */
export interface LaunchAddress {
  readonly batch: number;
  readonly slot: number;
}

/** The sort key of a launch: batches and slots padded so that a batch's launches are one key range, in order. */
export function launchItemKey(address: LaunchAddress): string {
  return `${LAUNCH_PREFIX}${String(address.batch).padStart(5, '0')}#${String(address.slot).padStart(3, '0')}`;
}

function batchPrefix(batch: number): string {
  return `${LAUNCH_PREFIX}${String(batch).padStart(5, '0')}#`;
}

/** When a poll first saw the instance running, or why it never will. */
export interface RunningSighting {
  readonly runningAt?: number;
  readonly note?: string;
}

/** Everything recorded about one planned launch; each step adds its part. */
export interface LaunchRecord extends LaunchAddress {
  readonly spec: LaunchSpec;
  readonly outcome?: LaunchOutcome;
  readonly running?: RunningSighting;
  readonly result?: BootRunResult;
}

/** The run as planned, and what its last steps wrote. */
export interface RunRecord {
  readonly runId: string;
  readonly request: unknown;
  readonly skippedImages: readonly { imageId: string; reason: string }[];
  readonly batchSizes: readonly number[];
  readonly plannedAt: number;
  readonly closed?: boolean;
  readonly regressions?: readonly string[];
}

/** A stored run that does not exist or holds no such launch. */
export class RunRecordMissingError extends PipelineError {
  override readonly name: string = 'RunRecordMissingError';
}

/** A run id whose launches have already begun: a run id names one run. */
export class RunAlreadyStartedError extends PipelineError {
  override readonly name: string = 'RunAlreadyStartedError';
}

const str = (value: string): AttributeValue => ({ S: value });
const num = (value: number): AttributeValue => ({ N: String(value) });
const json = (value: unknown): AttributeValue => ({ S: JSON.stringify(value) });
const parsed = <T>(item: Record<string, AttributeValue> | undefined, name: string): T | undefined =>
  item?.[name]?.S === undefined ? undefined : (JSON.parse(item[name].S) as T);

/**
 * A boot test run's plans and results in DynamoDB under the run id, so the state machine passes ids between its
 * states, never the plans or results themselves. Each planned launch has an item for its plan and one for each
 * later step's part (what RunInstances did, when it was seen running, the judged result), written whole by the one
 * step that owns it. Items expire after {@link RUN_RECORD_DAYS} days; the boot history table keeps what lasts.
 */
export class BootRunTable {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {}

  private async put(runId: string, item: string, attributes: Record<string, AttributeValue>): Promise<void> {
    await this.dynamodb.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          [RUN_KEYS.partition]: str(runId),
          [RUN_KEYS.sort]: str(item),
          ...attributes,
          [RUN_KEYS.expiresAt]: num(Math.floor(this.clock.now() / 1000) + RUN_RECORD_DAYS * 86_400),
        },
      }),
    );
  }

  private async query(runId: string, prefix: string): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.dynamodb.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#p = :p AND begins_with(#s, :s)',
          ExpressionAttributeNames: { '#p': RUN_KEYS.partition, '#s': RUN_KEYS.sort },
          ExpressionAttributeValues: { ':p': str(runId), ':s': str(prefix) },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /**
   * Stores a new plan. Storing it again before any launch began (a retried Plan) writes the same items; a run id
   * whose launches have begun is refused, so a run never mixes with an earlier one of the same name.
   */
  async putPlan(run: Omit<RunRecord, 'closed' | 'regressions'>, batches: readonly LaunchSpec[][]): Promise<void> {
    const begun = (await this.query(run.runId, LAUNCH_PREFIX)).find((item) => !isPlanItem(item));
    if (begun)
      throw new RunAlreadyStartedError(
        `boot test run ${run.runId} has already launched instances; a run id names one run, use another`,
      );
    const writes: (() => Promise<void>)[] = [
      () =>
        this.put(run.runId, RUN_PREFIX, {
          request: json(run.request),
          skippedImages: json(run.skippedImages),
          batchSizes: json(run.batchSizes),
          plannedAt: num(run.plannedAt),
        }),
    ];
    for (const [batch, launches] of batches.entries())
      for (const [index, spec] of launches.entries())
        writes.push(() => this.put(run.runId, launchItemKey({ batch, slot: index + 1 }), { spec: json(spec) }));
    for (let start = 0; start < writes.length; start += WRITE_CONCURRENCY)
      await Promise.all(writes.slice(start, start + WRITE_CONCURRENCY).map((write) => write()));
  }

  /** The run as planned, with what its last steps wrote; throws when the run was never planned (or has expired). */
  async run(runId: string): Promise<RunRecord> {
    const items = new Map((await this.query(runId, RUN_PREFIX)).map((i) => [i[RUN_KEYS.sort]!.S!, i]));
    const item = items.get(RUN_PREFIX);
    if (!item) throw new RunRecordMissingError(`no boot test run ${runId} is recorded in ${this.tableName}`);
    return {
      runId,
      request: parsed(item, 'request'),
      skippedImages: parsed(item, 'skippedImages') ?? [],
      batchSizes: parsed(item, 'batchSizes') ?? [],
      plannedAt: Number(item.plannedAt?.N ?? 0),
      closed: items.has(`${RUN_PREFIX}#closed`),
      regressions: parsed(items.get(`${RUN_PREFIX}#record`), 'regressions'),
    };
  }

  /** One planned launch with everything recorded about it so far. */
  async launch(runId: string, address: LaunchAddress): Promise<LaunchRecord> {
    const record = groupLaunches(await this.query(runId, launchItemKey(address))).find(
      (r) => r.batch === address.batch && r.slot === address.slot,
    );
    if (!record)
      throw new RunRecordMissingError(`run ${runId} has no launch in batch ${address.batch}, slot ${address.slot}`);
    return record;
  }

  /** Records what RunInstances did for a launch. */
  setOutcome(runId: string, address: LaunchAddress, outcome: LaunchOutcome): Promise<void> {
    return this.put(runId, `${launchItemKey(address)}#${PARTS.outcome}`, { outcome: json(outcome) });
  }

  /** Records when a poll first saw the instance running, or why it will not be. */
  setRunning(runId: string, address: LaunchAddress, sighting: RunningSighting): Promise<void> {
    return this.put(runId, `${launchItemKey(address)}#${PARTS.running}`, { sighting: json(sighting) });
  }

  /** Records the judged result of a launch. */
  setResult(runId: string, address: LaunchAddress, result: BootRunResult): Promise<void> {
    return this.put(runId, `${launchItemKey(address)}#${PARTS.result}`, { result: json(result) });
  }

  /** The launches of one batch with what was recorded about them, in slot order. */
  batch(runId: string, batch: number): Promise<LaunchRecord[]> {
    return this.query(runId, batchPrefix(batch)).then(groupLaunches);
  }

  /** The launches the run planned, with all that was recorded, in batch and slot order. */
  async launches(runId: string): Promise<LaunchRecord[]> {
    const { batchSizes } = await this.run(runId);
    // A plan stored again with a different shape can leave items beyond it; only the planned addresses count.
    return groupLaunches(await this.query(runId, LAUNCH_PREFIX)).filter(
      (r) => r.batch < batchSizes.length && r.slot <= batchSizes[r.batch]!,
    );
  }

  /** Marks the run closed after a failure, so pollers still running for it stop. */
  close(runId: string): Promise<void> {
    return this.put(runId, `${RUN_PREFIX}#closed`, { closedAt: num(this.clock.now()) });
  }

  /** Stores the regressions Record found, for the operator's view of the run. */
  setRegressions(runId: string, regressions: readonly string[]): Promise<void> {
    return this.put(runId, `${RUN_PREFIX}#record`, { regressions: json(regressions) });
  }
}

function isPlanItem(item: Record<string, AttributeValue>): boolean {
  return item[RUN_KEYS.sort]!.S!.split('#').length === 3;
}

/** A launch's items (its plan and each step's part) gathered into one record per launch. */
function groupLaunches(items: readonly Record<string, AttributeValue>[]): LaunchRecord[] {
  const records = new Map<string, { address: LaunchAddress; parts: Map<string, Record<string, AttributeValue>> }>();
  for (const item of items) {
    const [, batch, slot, part = 'spec'] = item[RUN_KEYS.sort]!.S!.split('#');
    const key = `${batch}#${slot}`;
    let record = records.get(key);
    if (!record) {
      record = { address: { batch: Number(batch), slot: Number(slot) }, parts: new Map() };
      records.set(key, record);
    }
    record.parts.set(part, item);
  }
  return [...records.values()]
    .filter((r) => r.parts.has('spec'))
    .sort((a, b) => a.address.batch - b.address.batch || a.address.slot - b.address.slot)
    .map(({ address, parts }) => ({
      ...address,
      spec: parsed<LaunchSpec>(parts.get('spec'), 'spec')!,
      outcome: parsed<LaunchOutcome>(parts.get(PARTS.outcome), 'outcome'),
      running: parsed<RunningSighting>(parts.get(PARTS.running), 'sighting'),
      result: parsed<BootRunResult>(parts.get(PARTS.result), 'result'),
    }));
}

/**
 * A launch's result as recorded, completed with the moment the batch's poller saw it running: the poller runs beside
 * the probes, so the result was judged without it.
 */
export function completedResult(record: LaunchRecord): BootRunResult | undefined {
  const result = record.result;
  if (!result) return undefined;
  const runningAt = record.running?.runningAt;
  if (!result.timeline || runningAt === undefined) return result;
  const timeline = { ...result.timeline, runningAt };
  return { ...result, timeline, intervals: bootIntervals(timeline) };
}
