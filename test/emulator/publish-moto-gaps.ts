import type { ClientPlugin } from '../../lambdas/aws/clients';

/** Makes every `command` sent to `region` fail with `code`, as a region-wide outage or denial would. */
export function failCommand(region: string, command: string, code: string): ClientPlugin {
  return (stack, info) => {
    if (info.service !== 'ec2' || info.region !== region) return;
    stack.add(
      (next, context) => async (args) => {
        if (context.commandName === `${command}Command`) {
          throw Object.assign(new Error(`${command} refused in ${region} (injected)`), { name: code, $metadata: {} });
        }
        return next(args);
      },
      { step: 'initialize', name: `fail${command}` },
    );
  };
}

/**
 * Throttles the first `times` attempts of every `commands` call in `region` below the SDK's retry middleware, as
 * a RequestLimitExceeded storm does, so the SDK's adaptive retries are what gets the calls through.
 */
export function throttleStorm(
  region: string,
  commands: readonly string[],
  times: number,
): { readonly plugin: ClientPlugin; readonly counter: { throttled: number } } {
  const counter = { throttled: 0 };
  const attempts = new WeakMap<object, number>();
  const plugin: ClientPlugin = (stack, info) => {
    if (info.service !== 'ec2' || info.region !== region) return;
    stack.add(
      (next, context) => async (args) => {
        if (commands.includes(String(context.commandName).replace(/Command$/, ''))) {
          const seen = attempts.get(args.input as object) ?? 0;
          attempts.set(args.input as object, seen + 1);
          if (seen < times) {
            counter.throttled++;
            throw Object.assign(new Error('Request limit exceeded.'), {
              name: 'RequestLimitExceeded',
              $metadata: { httpStatusCode: 503 },
              $fault: 'client',
            });
          }
        }
        return next(args);
      },
      { step: 'deserialize', name: 'throttleStorm' },
    );
  };
  return { plugin, counter };
}
