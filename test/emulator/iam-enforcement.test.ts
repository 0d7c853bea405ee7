import { DescribeImagesCommand, DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ClientFactory } from '../../lambdas/aws/clients';
import { type IamEnforcingEmulator, startIamEnforcingEmulator } from '../support/iam';

describe('IAM-enforcing emulator used to prove synthesized grants', () => {
  let emulator: IamEnforcingEmulator;
  beforeAll(async () => {
    emulator = await startIamEnforcingEmulator([{ Effect: 'Allow', Action: ['ec2:DescribeRegions'], Resource: '*' }]);
  });
  afterAll(() => emulator.server.stop());

  test('allows the actions in the statements and denies every other action', async () => {
    const clients = new ClientFactory({
      endpoint: emulator.server.endpoint,
      credentials: emulator.restricted,
      maxAttempts: 1,
    });

    const regions = await clients.client(EC2Client, 'us-east-1').send(new DescribeRegionsCommand({}));
    const images = clients.client(EC2Client, 'us-east-1').send(new DescribeImagesCommand({ Owners: ['self'] }));

    expect(regions.Regions?.length).toBeGreaterThan(0);
    await expect(images).rejects.toMatchObject({ name: expect.stringMatching(/UnauthorizedOperation|AccessDenied/) });
  });

  test('lets the admin user do anything, for seeding and reading state back', async () => {
    const admin = new ClientFactory({
      endpoint: emulator.server.endpoint,
      credentials: emulator.admin,
      maxAttempts: 1,
    });

    const images = await admin.client(EC2Client, 'us-east-1').send(new DescribeImagesCommand({ Owners: ['self'] }));

    expect(images.Images).toEqual([]);
  });
});
