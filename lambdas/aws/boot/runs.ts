import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { LaunchSpec } from '../../core/boot/plan';
import { type BootRunResult, bootIntervals } from '../../core/boot/result';
import { PipelineError } from '../../core/errors';
import type { Clock } from '../rate-limiter';
import type { LaunchOutcome } from './instances';

/** Partition and sort key names of the boot run table, and its time-to-live attribute. */
export const RUN_KEYS = { partition: 'runId', sort: 'item', expiresAt: 'expiresAt' } as const;

/** How long a run's plans and results are kept: long enough for the operator and the week's digest to read them. */
export const RUN_RECORD_DAYS = 30;

const RUN_ITEM = 'run';
const LAUNCH_PREFIX = 'launch#';

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

/** What the poller reads of a batch's launches, no more. */
export interface LaunchState extends LaunchAddress {
  readonly instanceId?: string;
  readonly launchStatus?: LaunchOutcome['status'];
  readonly seen: boolean;
  readonly judged: boolean;
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
export class RunRecordMissingError extends PipelineError {}

const str = (value: string): AttributeValue => ({ S: value });
const num = (value: number): AttributeValue => ({ N: String(value) });
const json = (value: unknown): AttributeValue => ({ S: JSON.stringify(value) });
const parsed = <T>(item: Record<string, AttributeValue>, name: string): T | undefined =>
  item[name]?.S === undefined ? undefined : (JSON.parse(item[name].S) as T);

/**
 * A boot test run's plans and results in DynamoDB, one item per planned launch under the run id, so the state
 * machine passes ids between its states, never the plans or results themselves. Items expire after
 * {@link RUN_RECORD_DAYS} days; the boot history table keeps what lasts.
 */
export class BootRunTable {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {}

  private expiresAt(): AttributeValue {
    return num(Math.floor(this.clock.now() / 1000) + RUN_RECORD_DAYS * 86_400);
  }

  private key(runId: string, item: string): Record<string, AttributeValue> {
    return { [RUN_KEYS.partition]: str(runId), [RUN_KEYS.sort]: str(item) };
  }

  /** Stores a new plan; a run id used again starts from a clean slate (Plan may also be retried). */
  async putPlan(run: Omit<RunRecord, 'closed' | 'regressions'>, batches: readonly LaunchSpec[][]): Promise<void> {
    const expiresAt = this.expiresAt();
    const items: Record<string, AttributeValue>[] = [
      {
        ...this.key(run.runId, RUN_ITEM),
        request: json(run.request),
        skippedImages: json(run.skippedImages),
        batchSizes: json(run.batchSizes),
        plannedAt: num(run.plannedAt),
        [RUN_KEYS.expiresAt]: expiresAt,
      },
    ];
    for (const [batch, launches] of batches.entries())
      for (const [index, spec] of launches.entries())
        items.push({
          ...this.key(run.runId, launchItemKey({ batch, slot: index + 1 })),
          spec: json(spec),
          [RUN_KEYS.expiresAt]: expiresAt,
        });
    const wanted = new Set(items.map((i) => i[RUN_KEYS.sort]!.S!));
    const stale = (await this.keysOf(run.runId)).filter((k) => !wanted.has(k));
    await this.write([
      ...stale.map((k): WriteRequest => ({ DeleteRequest: { Key: this.key(run.runId, k) } })),
      ...items.map((Item): WriteRequest => ({ PutRequest: { Item } })),
    ]);
  }

  private async keysOf(runId: string): Promise<string[]> {
    const items = await this.query({
      KeyConditionExpression: '#p = :p',
      ExpressionAttributeNames: { '#p': RUN_KEYS.partition, '#s': RUN_KEYS.sort },
      ExpressionAttributeValues: { ':p': str(runId) },
      ProjectionExpression: '#s',
    });
    return items.map((i) => i[RUN_KEYS.sort]!.S!);
  }

  private async write(requests: WriteRequest[]): Promise<void> {
    for (let start = 0; start < requests.length; start += 25) {
      let pending = requests.slice(start, start + 25);
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) await this.clock.sleep(Math.min(2000, 50 * 2 ** attempt));
        const response = await this.dynamodb.send(
          new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } }),
        );
        pending = response.UnprocessedItems?.[this.tableName] ?? [];
        if (attempt >= 10 && pending.length)
          throw new PipelineError(`DynamoDB left ${pending.length} write(s) of the run unprocessed`);
      }
    }
  }

  private async query(input: Omit<QueryCommandInput, 'TableName'>): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.dynamodb.send(
        new QueryCommand({ ...input, TableName: this.tableName, ExclusiveStartKey: start, ConsistentRead: true }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** The run as planned; throws when the run was never planned (or has expired). */
  async run(runId: string): Promise<RunRecord> {
    const response = await this.dynamodb.send(
      new GetItemCommand({ TableName: this.tableName, Key: this.key(runId, RUN_ITEM), ConsistentRead: true }),
    );
    const item = response.Item;
    if (!item) throw new RunRecordMissingError(`no boot test run ${runId} is recorded in ${this.tableName}`);
    return {
      runId,
      request: parsed(item, 'request'),
      skippedImages: parsed(item, 'skippedImages') ?? [],
      batchSizes: parsed(item, 'batchSizes') ?? [],
      plannedAt: Number(item.plannedAt?.N ?? 0),
      closed: item.closed?.BOOL === true,
      regressions: parsed(item, 'regressions'),
    };
  }

  /** One planned launch with everything recorded about it so far. */
  async launch(runId: string, address: LaunchAddress): Promise<LaunchRecord> {
    const response = await this.dynamodb.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: this.key(runId, launchItemKey(address)),
        ConsistentRead: true,
      }),
    );
    if (!response.Item)
      throw new RunRecordMissingError(`run ${runId} has no launch in batch ${address.batch}, slot ${address.slot}`);
    return toLaunchRecord(response.Item);
  }

  // Attribute names always go through placeholders: several (result, status) are DynamoDB reserved words.
  private update(
    runId: string,
    address: LaunchAddress,
    set: Record<string, AttributeValue>,
    condition?: string,
  ): Promise<unknown> {
    const names = Object.keys(set);
    return this.dynamodb.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key(runId, launchItemKey(address)),
        UpdateExpression: `SET ${names.map((_, i) => `#a${i} = :v${i}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(names.map((name, i) => [`#a${i}`, name])),
        ExpressionAttributeValues: Object.fromEntries(names.map((name, i) => [`:v${i}`, set[name]!])),
        ConditionExpression: condition,
      }),
    );
  }

  /** Records what RunInstances did for a launch. */
  async setOutcome(runId: string, address: LaunchAddress, outcome: LaunchOutcome): Promise<void> {
    await this.update(runId, address, {
      outcome: json(outcome),
      launchStatus: str(outcome.status),
      instanceId: str(outcome.status === 'launched' ? outcome.instanceId : '-'),
    });
  }

  /** Records when a poll first saw the instance running (or why it will not), once. */
  async setRunning(runId: string, address: LaunchAddress, sighting: RunningSighting): Promise<void> {
    try {
      await this.update(
        runId,
        address,
        sighting.runningAt === undefined
          ? { runningNote: str(sighting.note ?? '') }
          : { runningAt: num(sighting.runningAt) },
        'attribute_not_exists(runningAt) AND attribute_not_exists(runningNote)',
      );
    } catch (error) {
      // A sighting already recorded (a retried poll) stays as it was.
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
  }

  /** Records the judged result of a launch. */
  async setResult(runId: string, address: LaunchAddress, result: BootRunResult): Promise<void> {
    await this.update(runId, address, { result: json(result), judged: str(result.status) });
  }

  /** The batch's launches as the running poller needs them: ids and progress, without plans or results. */
  async batchStates(runId: string, batch: number): Promise<LaunchState[]> {
    const items = await this.query({
      KeyConditionExpression: '#p = :p AND begins_with(#s, :b)',
      ExpressionAttributeNames: {
        '#p': RUN_KEYS.partition,
        '#s': RUN_KEYS.sort,
        '#i': 'instanceId',
        '#l': 'launchStatus',
        '#r': 'runningAt',
        '#n': 'runningNote',
        '#j': 'judged',
      },
      ExpressionAttributeValues: { ':p': str(runId), ':b': str(batchPrefix(batch)) },
      ProjectionExpression: '#s, #i, #l, #r, #n, #j',
    });
    return items.map((item) => ({
      ...addressOf(item[RUN_KEYS.sort]!.S!),
      instanceId: item.instanceId?.S === '-' ? undefined : item.instanceId?.S,
      launchStatus: item.launchStatus?.S as LaunchOutcome['status'] | undefined,
      seen: item.runningAt !== undefined || item.runningNote !== undefined,
      judged: item.judged !== undefined,
    }));
  }

  /** Every launch of the run with all that was recorded, in batch and slot order. */
  async launches(runId: string): Promise<LaunchRecord[]> {
    const items = await this.query({
      KeyConditionExpression: '#p = :p AND begins_with(#s, :l)',
      ExpressionAttributeNames: { '#p': RUN_KEYS.partition, '#s': RUN_KEYS.sort },
      ExpressionAttributeValues: { ':p': str(runId), ':l': str(LAUNCH_PREFIX) },
    });
    return items.map(toLaunchRecord);
  }

  /** Marks the run closed after a failure, so pollers still running for it stop. */
  async close(runId: string): Promise<void> {
    await this.dynamodb
      .send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(runId, RUN_ITEM),
          UpdateExpression: 'SET #c = :t',
          ExpressionAttributeValues: { ':t': { BOOL: true } },
          ConditionExpression: 'attribute_exists(#p)',
          ExpressionAttributeNames: { '#p': RUN_KEYS.partition, '#c': 'closed' },
        }),
      )
      .catch((error: Error) => {
        // A run that failed before it was planned has nothing to close.
        if (error.name !== 'ConditionalCheckFailedException') throw error;
      });
  }

  /** Stores the regressions Record found, for the operator's view of the run. */
  async setRegressions(runId: string, regressions: readonly string[]): Promise<void> {
    await this.dynamodb.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key(runId, RUN_ITEM),
        UpdateExpression: 'SET #r = :r',
        ExpressionAttributeNames: { '#r': 'regressions' },
        ExpressionAttributeValues: { ':r': json(regressions) },
      }),
    );
  }
}

function addressOf(sortKey: string): LaunchAddress {
  const [, batch, slot] = sortKey.split('#');
  return { batch: Number(batch), slot: Number(slot) };
}

function toLaunchRecord(item: Record<string, AttributeValue>): LaunchRecord {
  const running: RunningSighting | undefined =
    item.runningAt !== undefined
      ? { runningAt: Number(item.runningAt.N) }
      : item.runningNote !== undefined
        ? { note: item.runningNote.S }
        : undefined;
  return {
    ...addressOf(item[RUN_KEYS.sort]!.S!),
    spec: parsed<LaunchSpec>(item, 'spec')!,
    outcome: parsed<LaunchOutcome>(item, 'outcome'),
    running,
    result: parsed<BootRunResult>(item, 'result'),
  };
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
