import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import type { AwsCredentialIdentity } from '@smithy/types';
import { type MotoServer, startMoto } from '../../scripts/emulator';

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

const BOOTSTRAP_REQUESTS = 6;

/**
 * Starts a dedicated emulator that enforces IAM actions (not conditions) after its first requests, which create an
 * admin user and a user with exactly `statements`. Resource ARNs built with CloudFormation intrinsics are widened to
 * "*" because the emulator checks actions only; the template's conditions are asserted by CDK tests instead.
 */
export async function startIamEnforcingEmulator(statements: readonly PolicyStatement[]): Promise<IamEnforcingEmulator> {
  const server = await startMoto({ env: { INITIAL_NO_AUTH_ACTION_COUNT: String(BOOTSTRAP_REQUESTS) } });
  const iam = new IAMClient({
    region: 'us-east-1',
    endpoint: server.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const createUser = async (name: string, document: unknown): Promise<AwsCredentialIdentity> => {
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
  const admin = await createUser('admin', {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
  });
  const restricted = await createUser('function', {
    Version: '2012-10-17',
    Statement: statements.map((s) => ({
      Effect: s.Effect,
      Action: s.Action,
      Resource: typeof s.Resource === 'string' && !s.Resource.includes('${') ? s.Resource : '*',
    })),
  });
  return { server, admin, restricted };
}
