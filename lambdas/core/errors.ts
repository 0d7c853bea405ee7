/**
 * Base class of the pipeline's own errors; `cause` keeps the original error. Each class spells out its `name`, which
 * Step Functions and the digest show as the error: the functions' bundles are minified without `keepNames`, so a
 * class's own name would be a mangled one.
 */
export class PipelineError extends Error {
  override readonly name: string = 'PipelineError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Configuration that does not satisfy the schema. */
export class ConfigError extends PipelineError {
  override readonly name: string = 'ConfigError';
  readonly issues: readonly unknown[];
  constructor(message: string, details: { issues?: readonly unknown[]; cause?: unknown } = {}) {
    super(message, { cause: details.cause });
    this.issues = details.issues ?? [];
  }
}

/** A Lambda or Step Functions event that does not match what the handler accepts. */
export class EventValidationError extends PipelineError {
  override readonly name: string = 'EventValidationError';
}

/** A run that finished with per-item failures; thrown once, at the end, after everything else was done. */
export class PartialFailureError extends PipelineError {
  override readonly name: string = 'PartialFailureError';
  readonly failures: readonly ItemFailure[];
  constructor(message: string, failures: readonly ItemFailure[]) {
    super(message);
    this.failures = failures;
  }
}

/** One item that could not be processed, with where and why. */
export interface ItemFailure {
  readonly id: string;
  readonly region: string;
  readonly error: string;
  readonly code?: string;
}

/** Outcome of applying a plan: what worked and what did not, never an abort halfway. */
export interface Outcome<T> {
  readonly succeeded: T[];
  readonly failed: ItemFailure[];
}

/**
 * The error code of a thrown value: AWS's (`Code` from EC2's XML errors, otherwise the SDK's `name`), or a system
 * error's `code` (`ECONNRESET`); undefined for a plain `Error` or a value that is not an object.
 */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { Code, code, name } = error as { Code?: unknown; code?: unknown; name?: unknown };
  const found = [Code, code, name].find(
    (candidate): candidate is string => typeof candidate === 'string' && candidate !== '',
  );
  return found === 'Error' ? undefined : found;
}

/** Short, log-safe description of any thrown value, keeping its error code when there is one. */
export function describeError(error: unknown): { message: string; code?: string } {
  if (error instanceof Error) return { message: error.message, code: errorCode(error) };
  return { message: String(error) };
}
