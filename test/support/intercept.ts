import type { EC2Client } from '@aws-sdk/client-ec2';

/** Sees every command of a client and decides its answer: call `next` to go on, or throw to fail it. */
export type CommandHandler = (
  command: string,
  input: Record<string, unknown>,
  next: () => Promise<{ output: unknown }>,
) => Promise<{ output: unknown }>;

/**
 * Adds a fault-injecting middleware, for what the emulator cannot do: `initialize` sees parsed outputs before any
 * retry, `deserialize` runs inside the SDK's retry loop (so a throttle there is retried as AWS's would be).
 */
export function intercept(client: EC2Client, step: 'initialize' | 'deserialize', handler: CommandHandler): void {
  client.middlewareStack.add(
    (next, context) => async (args) =>
      (await handler(
        context.commandName ?? '',
        args.input as Record<string, unknown>,
        () => next(args) as never,
      )) as never,
    { step: step as 'initialize', name: `intercept-${step}-${Math.random()}` },
  );
}
