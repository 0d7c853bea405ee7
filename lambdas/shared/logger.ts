import { currentInvocation } from './invocation';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

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
 * Structured JSON logger: fixed messages, details in fields, persistent keys (such as the region) on every line.
 */
export class Logger {
  private readonly keys: Record<string, unknown>;

  constructor(
    keys: Record<string, unknown> = {},
    private readonly level: LogLevel = (process.env.LOG_LEVEL?.toLowerCase() as LogLevel) || 'info',
    private readonly sink: LogSink = writeLogLine,
  ) {
    this.keys = { ...keys };
  }

  /** A child logger carrying extra keys, e.g. `logger.with({ region })`. */
  with(keys: Record<string, unknown>): Logger {
    return new Logger({ ...this.keys, ...keys }, this.level, this.sink);
  }

  appendKeys(keys: Record<string, unknown>): void {
    Object.assign(this.keys, keys);
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.write('debug', message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.write('info', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.write('warn', message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.write('error', message, fields);
  }

  private write(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    if (ORDER[level] < (ORDER[this.level] ?? ORDER.info)) return;
    const entry = { level, message, timestamp: new Date().toISOString(), ...this.keys, ...fields };
    this.sink(
      JSON.stringify(entry, (_key, value) =>
        value instanceof Error ? { name: value.name, message: value.message } : value,
      ),
    );
  }
}

/** A logger that writes nothing, for tests and the CLI's quiet mode. */
export const silentLogger = new Logger({}, 'error', () => undefined);
