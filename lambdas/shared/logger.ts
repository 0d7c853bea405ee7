import { LogFormatter, LogItem, Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions, LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { currentInvocation } from './invocation';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogSink = (line: string) => void;

/**
 * Lambda's log stream is the process's standard output; a function run by the local engine writes where its
 * invocation says (`services.logSink`), so many functions in one process keep their logs apart.
 */
export const writeLogLine: LogSink = (line) => {
  const sink = currentInvocation().services.logSink as LogSink | undefined;
  if (sink) sink(line);
  else process.stdout.write(`${line}\n`);
};

/**
 * The pipeline's log line: `level` (lower case), `message`, `timestamp`, the function's `service`, then the
 * logger's keys and the line's fields, and nothing else (no sampling rate, no trace id: Lambda adds its own).
 */
class PipelineLogFormatter extends LogFormatter {
  constructor(private readonly service: string | undefined) {
    super();
  }

  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const item = new LogItem({
      attributes: {
        level: attributes.logLevel.toLowerCase(),
        message: attributes.message,
        timestamp: attributes.timestamp.toISOString(),
        ...(this.service !== undefined && { service: this.service }),
      },
    });
    return item.addAttributes(additional);
  }
}

/** An error in a field is logged by its name and message, as CloudWatch queries of the pipeline expect. */
const errorsByName = (_key: string, value: unknown) =>
  value instanceof Error ? { name: value.name, message: value.message } : value;

/** Powertools' logger writing each line to a sink of the pipeline's rather than to its own console. */
class SinkLogger extends PowertoolsLogger {
  constructor(
    options: ConstructorOptions,
    private readonly sink: LogSink,
  ) {
    super(options);
  }

  protected override createLogger(options?: ConstructorOptions): SinkLogger {
    return new SinkLogger(options ?? {}, this.sink);
  }

  protected override printLog(_level: number, log: LogItem): void {
    log.prepareForPrint();
    this.sink(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
  }
}

/**
 * Structured JSON logger (Powertools for AWS Lambda): fixed messages, details in fields, persistent keys (such as
 * the region) on every line.
 */
export class Logger {
  private readonly inner: PowertoolsLogger;

  constructor(
    keys: Record<string, unknown> = {},
    level: LogLevel = (process.env.LOG_LEVEL?.toLowerCase() as LogLevel) || 'info',
    sink: LogSink = writeLogLine,
    inner?: PowertoolsLogger,
  ) {
    const { service, ...persistentKeys } = keys;
    this.inner =
      inner ??
      new SinkLogger(
        {
          logLevel: level.toUpperCase() as Uppercase<LogLevel>,
          logFormatter: new PipelineLogFormatter(service === undefined ? undefined : String(service)),
          persistentKeys,
          jsonReplacerFn: errorsByName,
        },
        sink,
      );
  }

  /** A child logger carrying extra keys, e.g. `logger.with({ region })`. */
  with(keys: Record<string, unknown>): Logger {
    return new Logger({}, undefined, undefined, this.inner.createChild({ persistentKeys: keys }));
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.inner.debug(message, ...(fields ? [fields] : []));
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.inner.info(message, ...(fields ? [fields] : []));
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.inner.warn(message, ...(fields ? [fields] : []));
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.inner.error(message, ...(fields ? [fields] : []));
  }
}

/** A logger that writes nothing, for tests and the CLI's quiet mode. */
export const silentLogger = new Logger({}, 'error', () => undefined);
