/** One describe or list call: how many items it returned and whether it asked for a page. */
export interface ListingRecord {
  readonly service: string;
  readonly operation: string;
  readonly region: string;
  readonly results: number;
  /** The call set MaxResults (or continued with NextToken): an unpaginated listing has neither. */
  readonly paginated: boolean;
  readonly at: number;
}

/** Which calls to count: any field left out matches every value. */
export interface CallFilter {
  readonly service?: string;
  readonly operation?: string;
  readonly region?: string;
}

const SEP = '\u0000';

function tally(map: Map<string, number>, key: string, amount = 1): void {
  map.set(key, (map.get(key) ?? 0) + amount);
}

function sum(map: ReadonlyMap<string, number>, wanted: readonly (string | undefined)[]): number {
  let total = 0;
  for (const [key, value] of map) {
    const parts = key.split(SEP);
    if (wanted.every((want, index) => want === undefined || parts[index] === want)) total += value;
  }
  return total;
}

/** Counts of everything the simulated AWS did, for assertions and benchmarks. */
export class SimCounters {
  private readonly callCounts = new Map<string, number>();
  private readonly throttleCounts = new Map<string, number>();
  private readonly errorCounts = new Map<string, number>();
  private readonly amounts = new Map<string, number>();
  private readonly highWater = new Map<string, number>();
  /** Every describe/list call, in order. */
  readonly listings: ListingRecord[] = [];

  /** Records a call as it arrives (throttled or not). */
  recordCall(service: string, operation: string, region: string): void {
    tally(this.callCounts, [service, operation, region].join(SEP));
  }

  recordThrottle(service: string, region: string, bucket: string): void {
    tally(this.throttleCounts, [service, region, bucket].join(SEP));
  }

  recordError(service: string, operation: string, region: string, code: string): void {
    tally(this.errorCounts, [service, operation, region, code].join(SEP));
  }

  recordListing(record: ListingRecord): void {
    this.listings.push(record);
  }

  /** Adds `amount` to a named quantity (`snapshotGiBDeleted`, `copiesStarted:eu-west-1`, ...). */
  add(name: string, amount = 1): void {
    tally(this.amounts, name, amount);
  }

  /** Raises the high-water mark `name` to `value` if it is higher. */
  observe(name: string, value: number): void {
    if (value > (this.highWater.get(name) ?? Number.NEGATIVE_INFINITY)) this.highWater.set(name, value);
  }

  /** Calls that arrived, throttled ones included. */
  calls(filter: CallFilter = {}): number {
    return sum(this.callCounts, [filter.service, filter.operation, filter.region]);
  }

  /** Calls answered with a throttling error, by bucket (an EC2 action name, `nonMutating`, `PutParameter`, ...). */
  throttled(filter: { readonly service?: string; readonly region?: string; readonly bucket?: string } = {}): number {
    return sum(this.throttleCounts, [filter.service, filter.region, filter.bucket]);
  }

  /** Calls answered with an error, throttling included. */
  errors(filter: CallFilter & { readonly code?: string } = {}): number {
    return sum(this.errorCounts, [filter.service, filter.operation, filter.region, filter.code]);
  }

  amount(name: string): number {
    return this.amounts.get(name) ?? 0;
  }

  highest(name: string): number {
    return this.highWater.get(name) ?? 0;
  }

  /** Items returned by describe/list calls matching `filter`. */
  results(filter: CallFilter = {}): number {
    return this.matchingListings(filter).reduce((total, l) => total + l.results, 0);
  }

  /** The describe/list calls without MaxResults or NextToken, the ones that return everything at once. */
  unpaginated(filter: CallFilter = {}): ListingRecord[] {
    return this.matchingListings(filter).filter((l) => !l.paginated);
  }

  /** Everything counted, as plain data (for a benchmark's JSON). */
  snapshot(): Record<string, unknown> {
    const table = (map: Map<string, number>, fields: string[]) =>
      [...map].map(([key, count]) => ({
        ...Object.fromEntries(key.split(SEP).map((part, index) => [fields[index]!, part])),
        count,
      }));
    return {
      calls: table(this.callCounts, ['service', 'operation', 'region']),
      throttled: table(this.throttleCounts, ['service', 'region', 'bucket']),
      errors: table(this.errorCounts, ['service', 'operation', 'region', 'code']),
      amounts: Object.fromEntries(this.amounts),
      highWater: Object.fromEntries(this.highWater),
      listings: this.listings.length,
      results: this.results(),
    };
  }

  private matchingListings(filter: CallFilter): ListingRecord[] {
    return this.listings.filter(
      (l) =>
        (filter.service === undefined || l.service === filter.service) &&
        (filter.operation === undefined || l.operation === filter.operation) &&
        (filter.region === undefined || l.region === filter.region),
    );
  }
}
