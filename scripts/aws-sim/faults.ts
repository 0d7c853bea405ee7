import type { AwsErrorSpec } from './errors';

/** A rare error to answer instead of the model's answer. */
export interface FaultRule {
  readonly service: string;
  /** The operation, e.g. `CopyImage` (without `Command`). */
  readonly operation: string;
  readonly region?: string;
  /** Only calls whose input passes this test fail. */
  readonly when?: (input: Record<string, unknown>) => boolean;
  /** How many matching calls fail (default 1; `Infinity` for all). */
  readonly times?: number;
  readonly error: AwsErrorSpec;
}

/** An injected fault: how often it struck, and a way to withdraw it. */
export interface FaultHandle {
  readonly hits: number;
  readonly remaining: number;
  cancel(): void;
}

interface ActiveRule {
  readonly rule: FaultRule;
  hits: number;
  remaining: number;
}

/** The faults injected into a simulation, matched in the order they were added. */
export class Faults {
  private readonly rules: ActiveRule[] = [];

  add(rule: FaultRule): FaultHandle {
    const active: ActiveRule = { rule, hits: 0, remaining: rule.times ?? 1 };
    this.rules.push(active);
    return {
      get hits() {
        return active.hits;
      },
      get remaining() {
        return active.remaining;
      },
      cancel: () => {
        active.remaining = 0;
      },
    };
  }

  /** The error a call must answer with, consuming one use of the rule that matched. */
  match(service: string, operation: string, region: string, input: Record<string, unknown>): AwsErrorSpec | undefined {
    for (const active of this.rules) {
      const { rule } = active;
      if (active.remaining <= 0 || rule.service !== service || rule.operation !== operation) continue;
      if (rule.region !== undefined && rule.region !== region) continue;
      if (rule.when && !rule.when(input)) continue;
      active.remaining--;
      active.hits++;
      return rule.error;
    }
    return undefined;
  }
}
