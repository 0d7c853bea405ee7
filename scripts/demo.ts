import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { ClientFactory } from '../lambdas/aws/clients';
import type { WeeklyCycleResult } from '../lambdas/aws/cycle';
import { renderBootTimePlot } from '../lambdas/core/plot';
import { createDemoWorld, DEMO_BUILD_REGION, DEMO_SLOW_SERIES, type DemoWorld, runDemoCycle } from './demo-world';
import { emulatorEnvironment, startMoto } from './emulator';

const OUTPUT_DIR = join(__dirname, '..', 'demo-output');
const say = (text: string) => process.stderr.write(`${text}\n`);

function printCycle(result: WeeklyCycleResult): void {
  const { publish, bootTest, prune } = result;
  if (publish) {
    say(`publish: ${publish.sources.length} new images to ${publish.regions.length} regions`);
    for (const outcome of publish.outcomes)
      say(
        `  ${outcome.region.padEnd(15)} ${outcome.status.padEnd(10)} ${Object.keys(outcome.published).length} images`,
      );
  }
  if (bootTest) {
    const passed = bootTest.results.filter((r) => r.status === 'passed').length;
    say(`boot-test: ${passed}/${bootTest.results.length} boots passed, ${bootTest.regressions.length} regression(s)`);
  }
  if (prune) {
    const t = prune.report.totals;
    say(
      `prune: ${t.imagesDeregistered} images deregistered, ${t.snapshotsDeleted} snapshots deleted, ${t.gibReclaimed} GiB`,
    );
  }
}

/** Writes the boot-time plot of the slow series and one x86 type, the digest, and the whole result. */
async function writeOutputs(world: DemoWorld, result: WeeklyCycleResult): Promise<void> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const rows = await world.bootTest.history.list();
  const keyOf = (r: { seriesKey: string; instanceType: string }) => `${r.seriesKey} ${r.instanceType}`;
  const regressed = new Set(result.bootTest?.regressions.map((g) => `${keyOf(g.row)} ${g.row.buildDate}`));
  const lines = [...new Set(rows.map(keyOf))]
    .filter((key) => key.startsWith(DEMO_SLOW_SERIES) || key.endsWith('c7i.large'))
    .map((key) => ({
      label: key,
      points: rows
        .filter((r) => keyOf(r) === key && r.median.bootSeconds !== undefined)
        .map((r) => ({
          date: r.buildDate,
          seconds: r.median.bootSeconds!,
          regression: regressed.has(`${key} ${r.buildDate}`),
        })),
    }));
  writeFileSync(
    join(OUTPUT_DIR, 'boot-times.svg'),
    renderBootTimePlot(lines, { title: 'Boot time to sshd on the emulator (simulated hosts)' }),
  );
  writeFileSync(join(OUTPUT_DIR, 'digest.txt'), `Subject: ${result.digest.subject}\n\n${result.digest.text}`);
  writeFileSync(join(OUTPUT_DIR, 'cycle.json'), JSON.stringify(result, null, 2));
  say(`wrote boot-times.svg, digest.txt and cycle.json in ${OUTPUT_DIR}\n`);
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

    say('running the weekly cycle: publish -> boot-test -> prune -> digest ...');
    const result = await runDemoCycle(world, clients);
    printCycle(result);
    const instances = await clients.ec2(DEMO_BUILD_REGION).send(
      new DescribeInstancesCommand({
        Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running', 'stopped'] }],
      }),
    );
    say(`test instances left running: ${(instances.Reservations ?? []).flatMap((r) => r.Instances ?? []).length}`);
    const received = await clients
      .sqs(DEMO_BUILD_REGION)
      .send(new ReceiveMessageCommand({ QueueUrl: world.queueUrl, MaxNumberOfMessages: 10 }));
    say(
      `mailing list (SQS subscriber) received ${received.Messages?.length ?? 0} messages: announcements and the digest`,
    );
    await writeOutputs(world, result);

    process.stdout.write(`Subject: ${result.digest.subject}\n\n${result.digest.text}\n`);
    if (result.failures.length > 0) process.exitCode = 1;
  } finally {
    await world?.bootTest.probe.close();
    await moto.stop();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`demo failed: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
