import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { CycleOutcome } from '../bin/local/cycle';
import { DynamoBootHistory } from '../lambdas/aws/boot/history';
import { ClientFactory } from '../lambdas/aws/clients';
import { detectRegression } from '../lambdas/core/boot/regression';
import { toBootPoint } from '../lambdas/core/boot/result';
import { renderBootTimePlot } from '../lambdas/core/plot';
import { bootReportHtml } from '../lambdas/aws/report/boot-page';
import { createDemoWorld, DEMO_BUILD_REGION, DEMO_SLOW_SERIES, type DemoWorld, runDemoCycle } from './demo-world';
import { emulatorEnvironment, startMoto } from '../test/support/moto-server';

const OUTPUT_DIR = join(__dirname, '..', 'demo-output');
const say = (text: string) => process.stderr.write(`${text}\n`);

function printCycle(result: CycleOutcome): void {
  for (const execution of result.executions) {
    const seconds = ((execution.stopDate?.getTime() ?? 0) - execution.startDate.getTime()) / 1000;
    say(
      `  ${execution.workflow.padEnd(10)} ${execution.status.padEnd(10)} ${seconds.toFixed(1)} s, ${execution.historyEventCount} history events, largest state ${execution.largestPayload.bytes} bytes${execution.error ? ` (${execution.error}: ${execution.cause})` : ''}`,
    );
  }
}

/**
 * Writes the boot-performance page of the demo's history (`report/index.html`), the boot-time plot of the slow series
 * and one x86 type, the digest, and every execution's report.
 */
async function writeOutputs(world: DemoWorld, clients: ClientFactory, result: CycleOutcome): Promise<void> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const history = new DynamoBootHistory(
    clients.client(DynamoDBClient, DEMO_BUILD_REGION),
    world.pipeline.bootHistoryTable,
  );
  const rows = (await history.list()).sort((a, b) => a.buildDate.localeCompare(b.buildDate));
  const keyOf = (r: { seriesKey: string; instanceType: string }) => `${r.seriesKey} ${r.instanceType}`;
  const points = rows.map(toBootPoint).flatMap((p) => (p ? [p] : []));
  const regression = world.config.bootTest.regression;
  const lines = [...new Set(rows.map(keyOf))]
    .filter((key) => key.startsWith(DEMO_SLOW_SERIES) || key.endsWith('c7i.large'))
    .map((key) => ({
      label: key,
      points: rows
        .filter((r) => keyOf(r) === key && r.median.bootSeconds !== undefined)
        .map((r) => {
          const point = toBootPoint(r);
          return {
            date: r.buildDate,
            seconds: r.median.bootSeconds!,
            regression: point ? detectRegression(point, points, regression).regressed : false,
          };
        }),
    }));
  writeFileSync(
    join(OUTPUT_DIR, 'boot-times.svg'),
    renderBootTimePlot(lines, { title: 'Boot time to sshd on the emulator (simulated hosts)' }),
  );
  mkdirSync(join(OUTPUT_DIR, 'report'), { recursive: true });
  writeFileSync(join(OUTPUT_DIR, 'report', 'index.html'), await bootReportHtml(history, world.config, world.now));
  if (result.digest)
    writeFileSync(join(OUTPUT_DIR, 'digest.txt'), `Subject: ${result.digest.subject}\n\n${result.digest.text}`);
  writeFileSync(join(OUTPUT_DIR, 'cycle.json'), JSON.stringify(result, null, 2));
  say(`wrote report/index.html, boot-times.svg, digest.txt and cycle.json in ${OUTPUT_DIR}\n`);
}

/**
 * One weekly cycle against the local AWS emulator: a FreeBSD fleet with 16 weeks of history in 5 regions and this
 * week's builds in the build region; publish, boot-test (hosts simulated on loopback), prune, then the digest mail.
 */
async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  say('starting the AWS emulator (moto) on a free loopback port ...');
  const moto = await startMoto();
  Object.assign(process.env, emulatorEnvironment(moto.endpoint));
  let world: DemoWorld | undefined;
  try {
    const clients = new ClientFactory({ endpoint: moto.endpoint, maxAttempts: 3 });
    say('seeding a fleet of FreeBSD images, a mailing-list topic and a test VPC ...');
    world = await createDemoWorld(clients, new Date());
    say(`  ${world.published.length} published images, ${world.fresh.length} new builds in ${DEMO_BUILD_REGION}`);

    say("running the weekly cycle on the stack's own state machines: publish -> boot-test -> prune -> digest ...");
    const result = await runDemoCycle(world);
    printCycle(result);
    const instances = await clients.client(EC2Client, DEMO_BUILD_REGION).send(
      new DescribeInstancesCommand({
        Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running', 'stopped'] }],
      }),
    );
    say(`test instances left running: ${(instances.Reservations ?? []).flatMap((r) => r.Instances ?? []).length}`);
    const received = await clients
      .client(SQSClient, DEMO_BUILD_REGION)
      .send(new ReceiveMessageCommand({ QueueUrl: world.queueUrl, MaxNumberOfMessages: 10 }));
    say(
      `mailing list (SQS subscriber) received ${received.Messages?.length ?? 0} messages: announcements and the digest`,
    );
    await writeOutputs(world, clients, result);

    if (result.digest) process.stdout.write(`Subject: ${result.digest.subject}\n\n${result.digest.text}\n`);
    else say(`the digest was not sent: ${result.digestError}`);
    if (result.executions.some((e) => e.status !== 'SUCCEEDED') || !result.digest) process.exitCode = 1;
  } finally {
    await world?.hosts.close();
    await moto.stop();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`demo failed: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
