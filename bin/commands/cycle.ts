import type { Command } from 'commander';
import { TcpProbe } from '../../lambdas/aws/boot/tcp-probe';
import { runWeeklyCycle } from '../../lambdas/aws/cycle';
import { ConfigError } from '../../lambdas/core/errors';
import type { CliContext } from '../cli/context';

const list = (value: string, previous: string[] = []) => [...previous, ...value.split(',').filter(Boolean)];

interface CycleOptions {
  readonly topicArn?: string;
  readonly subnet?: string[];
  readonly securityGroup?: string[];
  readonly executePrune?: boolean;
  readonly pollSeconds?: string;
}

/** `ami-pipeline cycle`: a whole week in-process (publish, boot-test, prune, digest), as the schedules run it. */
export function registerCycle(program: Command, context: () => CliContext): void {
  program
    .command('cycle')
    .description(
      'run a whole weekly cycle in-process: publish new images, boot-test them (with --subnet and --security-group), prune (plan only unless --execute-prune), then the digest',
    )
    .option('--topic-arn <arn>', 'SNS topic for the announcements and the digest (without it, nothing is sent)')
    .option('--subnet <ids>', 'subnet(s) for boot tests, reachable from this machine on TCP 22', list)
    .option('--security-group <ids>', 'security group(s) admitting TCP 22 from this machine', list)
    .option('--execute-prune', 'deregister and delete for real; without it pruning only plans')
    .option('--poll-seconds <n>', 'seconds before the first copy availability poll (then doubling)')
    .action(async (options: CycleOptions) => {
      const ctx = context();
      if (Boolean(options.subnet?.length) !== Boolean(options.securityGroup?.length))
        throw new ConfigError('boot tests need both --subnet and --security-group, or neither to skip them');
      const result = await runWeeklyCycle({
        config: ctx.config,
        clients: ctx.clients,
        now: ctx.now(),
        logger: ctx.logger,
        regions: ctx.regions,
        topicArn: options.topicArn,
        pollSeconds: options.pollSeconds === undefined ? undefined : Number(options.pollSeconds),
        executePrune: options.executePrune === true,
        bootTest: options.subnet?.length
          ? {
              network: { kind: 'operator', subnetIds: options.subnet, securityGroupIds: options.securityGroup ?? [] },
              probe: new TcpProbe(),
            }
          : undefined,
      });
      ctx.print(
        ctx.output === 'json'
          ? JSON.stringify(result, null, 2)
          : `Subject: ${result.digest.subject}\n\n${result.digest.text}`,
      );
      if (result.failures.length > 0 || result.digest.needsAttention) process.exitCode = 1;
    });
}
