import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ClientFactory } from '../../lambdas/aws/clients';
import { runAdopt, runPrune } from '../../lambdas/aws/prune';
import { parseConfig } from '../../lambdas/core/config';
import { seedFleet, weeklyFleet } from '../support/fleet';
import { App, Stack } from 'aws-cdk-lib';
import { Notifications } from '../../lib/notifications';
import { PipelineFunction } from '../../lib/pipeline-function';
import { PruneWorkflow } from '../../lib/prune-workflow';
import { type IamEnforcingEmulator, type PolicyStatement, startIamEnforcingEmulator } from '../support/iam';
import { DAY_MS } from '../../lambdas/core/time';

const newest = new Date(Date.now() - 2 * DAY_MS).toISOString().slice(0, 10);
const config = parseConfig({ retention: { keepNewest: 1, minAgeDays: 0 }, safety: { maxDeleteShare: 1 } });

let statements: Record<string, { Type: string; Properties: Record<string, unknown> }> | undefined;

/** The statements CDK synthesized for one function's role; the workflow owns its IAM, so it is synthesized alone. */
function statementsOf(functionId: RegExp): PolicyStatement[] {
  if (!statements) {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'PruneGrants', { env: { account: '123456789012', region: 'us-east-1' } });
    const config = parseConfig({});
    const notifications = new Notifications(stack, 'Notifications', { emails: [], alarmEmails: [] });
    const regionsFunction = new PipelineFunction(stack, 'RegionsFunction', {
      entry: 'regions/handler.ts',
      description: 'lists regions',
      config,
    });
    new PruneWorkflow(stack, 'Prune', { config, notifications, regionsFunction });
    statements = (app.synth().getStackByName('PruneGrants').template as { Resources: typeof statements }).Resources;
  }
  return Object.values(statements!)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => functionId.test(r.Ref)))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement);
}

/** Clients of the admin user (seeding, reading back) and of the user carrying exactly the function's statements. */
function factories(emulator: IamEnforcingEmulator) {
  const of = (credentials: IamEnforcingEmulator['admin']) =>
    new ClientFactory({ endpoint: emulator.server.endpoint, credentials, maxAttempts: 1 });
  return { admin: of(emulator.admin), restricted: of(emulator.restricted) };
}

describe('synthesized prune grants cover every call the functions make', () => {
  let emulator: IamEnforcingEmulator | undefined;
  afterEach(async () => {
    await emulator?.server.stop();
    emulator = undefined;
  });

  async function seed(admin: ClientFactory, tags?: Record<string, string>) {
    await seedFleet(
      admin,
      weeklyFleet({
        regions: ['us-east-1'],
        series: ['15.0-CURRENT/amd64/base/ufs'],
        weeks: 3,
        newestBuildDate: newest,
        tags,
      }),
    );
    await admin.client(SSMClient, 'us-east-1').send(
      new PutParameterCommand({
        Name: '/ami-pipeline/freebsd/amd64/base/ufs/15.0/CURRENT',
        Value: 'ami-12345678',
        Type: 'String',
      }),
    );
  }

  test('the execute function can inventory, deregister and delete with exactly its role', async () => {
    emulator = await startIamEnforcingEmulator(statementsOf(/PruneExecuteFunction/));
    const { admin, restricted } = factories(emulator);
    await seed(admin);

    const result = await runPrune({
      config,
      clients: restricted,
      now: new Date(),
      regions: ['us-east-1'],
      execute: true,
    });

    expect(result.report.regions[0]).toMatchObject({ imagesDeregistered: 2, snapshotsDeleted: 2, failures: [] });
    expect(result.report.regions[0]!.error).toBeUndefined();
    const left = await admin.client(EC2Client, 'us-east-1').send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(left.Images).toHaveLength(1);
  });

  test('the plan function can read everything it plans from, and cannot delete', async () => {
    emulator = await startIamEnforcingEmulator(statementsOf(/PrunePlanFunction/));
    const { admin, restricted } = factories(emulator);
    await seed(admin);

    const planned = await runPrune({ config, clients: restricted, now: new Date(), regions: ['us-east-1'] });
    const denied = await runPrune({
      config,
      clients: restricted,
      now: new Date(),
      regions: ['us-east-1'],
      execute: true,
    });

    expect(planned.report.regions[0]).toMatchObject({ imagesDeregistered: 2, failures: [] });
    expect(denied.report.regions[0]!.failures.map((f) => f.code)).toEqual(
      expect.arrayContaining([expect.stringMatching(/AccessDenied|UnauthorizedOperation/)]),
    );
  });

  test('the adopt function can tag untagged images and their snapshots with exactly its role', async () => {
    emulator = await startIamEnforcingEmulator(statementsOf(/PruneAdoptFunction/));
    const { admin, restricted } = factories(emulator);
    await seed(admin, {});

    const result = await runAdopt({
      config,
      clients: restricted,
      now: new Date(),
      regions: ['us-east-1'],
      execute: true,
    });

    expect(result.failed).toEqual([]);
    expect(result.failedRegions).toEqual([]);
    expect(result.tagged).toHaveLength(6);
  });
});
