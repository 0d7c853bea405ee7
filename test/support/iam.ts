import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import type { AwsCredentialIdentity } from '@smithy/types';
import { fileEmulator } from './emulator';
import { type MotoServer, postToMoto } from './moto-server';

/** One IAM policy statement as it appears in a synthesized template. */
export interface PolicyStatement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
  readonly Sid?: string;
}

export interface IamEnforcingEmulator {
  readonly server: MotoServer;
  /** Credentials of a user allowed everything, for seeding and for reading state back. */
  readonly admin: AwsCredentialIdentity;
  /** Credentials of a user carrying exactly the given statements. */
  readonly restricted: AwsCredentialIdentity;
}

export interface MultiUserIamEmulator {
  readonly server: MotoServer;
  readonly admin: AwsCredentialIdentity;
  /** One user per function name, each carrying exactly that function's statements. */
  readonly users: Map<string, AwsCredentialIdentity>;
}

/** CreateUser, PutUserPolicy and CreateAccessKey: the unauthenticated requests each user costs. */
const REQUESTS_PER_USER = 3;

/**
 * Makes the test file's emulator enforce IAM actions (not conditions) once its next requests have created an admin
 * user and one user per entry of `policies`, from a cleared state. Resource ARNs built with CloudFormation intrinsics
 * are widened to "*" because the emulator checks actions only; resources and conditions are proven by the
 * authorization proof. moto's `reset-auth` counts the unauthenticated requests afresh, so no server of its own is
 * started.
 */
export async function startIamEnforcingEmulatorForUsers(
  policies: Readonly<Record<string, readonly PolicyStatement[]>>,
): Promise<MultiUserIamEmulator> {
  const names = Object.keys(policies);
  // Enforcement ends with the server's `stop`, which restores the emulator's defaults.
  const server = fileEmulator();
  const { endpoint } = server;
  await server.reset();
  await postToMoto(endpoint, '/moto-api/reset-auth', String(REQUESTS_PER_USER * (names.length + 1)));
  const iam = new IAMClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const createUser = async (name: string, statements: readonly PolicyStatement[]): Promise<AwsCredentialIdentity> => {
    const document = {
      Version: '2012-10-17',
      // A conditional Deny would deny always once its conditions are dropped; the authorization proof
      // (test/authz) evaluates those with their conditions.
      Statement: statements
        .filter((s) => !(s.Effect === 'Deny' && s.Condition))
        .map((s) => ({
          Effect: s.Effect,
          Action: s.Action,
          Resource: typeof s.Resource === 'string' && !s.Resource.includes('${') ? s.Resource : '*',
        })),
    };
    await iam.send(new CreateUserCommand({ UserName: name }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName: name,
        PolicyName: `${name}-policy`,
        PolicyDocument: JSON.stringify(document),
      }),
    );
    const key = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
    return { accessKeyId: key.AccessKey!.AccessKeyId!, secretAccessKey: key.AccessKey!.SecretAccessKey! };
  };
  const admin = await createUser('admin', [{ Effect: 'Allow', Action: '*', Resource: '*' }]);
  const users = new Map<string, AwsCredentialIdentity>();
  for (const name of names) users.set(name, await createUser(name, policies[name]!));
  return { server, admin, users };
}

/** The test file's emulator enforcing IAM, with one restricted user carrying exactly `statements`. */
export async function startIamEnforcingEmulator(statements: readonly PolicyStatement[]): Promise<IamEnforcingEmulator> {
  const { server, admin, users } = await startIamEnforcingEmulatorForUsers({ function: statements });
  return { server, admin, restricted: users.get('function')! };
}
