import type { Command } from 'commander';
import { runCycle } from '../../bin/local/cycle';
import { BOOT_ENV } from '../../lambdas/boot/schemas';
import { DIGEST_ENV } from '../../lambdas/aws/digest/env';
import { ConfigError } from '../../lambdas/core/errors';
import { TOPIC_ENV } from '../../lambdas/publish/announce';
import type { CliContext } from '../cli/context';
import { openPipeline } from '../cli/pipeline';

const list = (value: string, previous: string[] = []) => [...previous, ...value.split(',').filter(Boolean)];

interface CycleOptions {
  readonly topicArn?: string;
  readonly subnet?: string[];
  readonly securityGroup?: string[];
  readonly executePrune?: boolean;
  readonly pollSeconds?: string;
}

/**
 * `ami-pipeline cycle`: a whole week on the stack's own state machines, run by the local engine: publish (which
 * starts the boot test), prune, then the digest, as the schedules run them in an account.
 */
export function registerCycle(program: Command, context: () => CliContext): void {
  program
    .command('cycle')
    .description(
      'run a whole weekly cycle on this machine with the stack’s state machines: publish new images, boot-test them (with --subnet and --security-group), prune (plan only unless --execute-prune), then the digest',
    )
    .option('--topic-arn <arn>', 'SNS topic for the announcements and the digest (default: the stack’s topic)')
    .option('--subnet <ids>', 'subnet(s) for boot tests, reachable from this machine on TCP 22', list)
    .option('--security-group <ids>', 'security group(s) admitting TCP 22 from this machine', list)
    .option('--execute-prune', 'deregister and delete for real; without it pruning only plans')
    .option('--poll-seconds <n>', 'seconds before the first copy availability poll (then doubling)')
    .action(async (options: CycleOptions) => {
      const ctx = context();
      if (Boolean(options.subnet?.length) !== Boolean(options.securityGroup?.length))
        throw new ConfigError('boot tests need both --subnet and --security-group, or neither to skip them');
      const bootTest = Boolean(options.subnet?.length);
      const environment: Record<string, string> = {};
      if (options.topicArn)
        Object.assign(environment, { [TOPIC_ENV]: options.topicArn, [DIGEST_ENV.topic]: options.topicArn });
      if (bootTest) {
        environment[BOOT_ENV.subnets] = options.subnet!.join(',');
        environment[BOOT_ENV.securityGroups] = options.securityGroup!.join(',');
        environment[BOOT_ENV.network] = 'operator';
      }
      const pipeline = await openPipeline(ctx, {
        config: {
          ...ctx.config,
          bootTest: { ...ctx.config.bootTest, enabled: ctx.config.bootTest.enabled && bootTest },
        },
        environment,
      });
      const result = await runCycle(pipeline, {
        publish: {
          ...(ctx.regions ? { regions: ctx.regions } : {}),
          ...(options.pollSeconds === undefined ? {} : { pollSeconds: Number(options.pollSeconds) }),
        },
        audit: ctx.regions ? { regions: ctx.regions } : {},
        prune: { execute: options.executePrune === true, ...(ctx.regions ? { regions: ctx.regions } : {}) },
      });
      ctx.print(
        ctx.output === 'json'
          ? JSON.stringify(result, null, 2)
          : result.digest
            ? `Subject: ${result.digest.subject}\n\n${result.digest.text}`
            : `The digest was not sent: ${result.digestError}`,
      );
      if (result.executions.some((e) => e.status !== 'SUCCEEDED') || !result.digest || result.digest.needsAttention)
        process.exitCode = 1;
    });
}
