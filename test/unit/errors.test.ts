import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EC2ServiceException } from '@aws-sdk/client-ec2';
import { describeError, errorCode, PipelineError } from '../../lambdas/core/errors';

function sdkError(name: string, extra: Record<string, unknown> = {}): EC2ServiceException {
  return Object.assign(
    new EC2ServiceException({ name, $fault: 'client', $metadata: {}, message: `${name} happened` }),
    extra,
  );
}

describe('errorCode', () => {
  it("reads an SDK error's name", () => {
    // Prepare
    const error = sdkError('InvalidSnapshot.InUse');

    // Act
    const code = errorCode(error);

    // Assess
    expect(code).toBe('InvalidSnapshot.InUse');
  });

  it("prefers EC2's Code over the SDK's name", () => {
    // Prepare
    const error = sdkError('EC2ServiceException', { Code: 'InvalidAMIID.Unavailable' });

    // Act
    const code = errorCode(error);

    // Assess
    expect(code).toBe('InvalidAMIID.Unavailable');
  });

  it("reads a system error's code", () => {
    // Prepare
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });

    // Act
    const code = errorCode(error);

    // Assess
    expect(code).toBe('ECONNREFUSED');
  });

  it('gives no code for a plain error, a string or nothing', () => {
    // Prepare
    const thrown = [new Error('plain'), 'a string', undefined, null, { code: 42 }];

    // Act
    const codes = thrown.map(errorCode);

    // Assess
    expect(codes).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it("names the pipeline's own errors by their class", () => {
    // Prepare
    class ExampleFailure extends PipelineError {
      override readonly name: string = 'ExampleFailure';
    }

    // Act
    const code = errorCode(new ExampleFailure('failed'));

    // Assess
    expect(code).toBe('ExampleFailure');
  });
});

describe('describeError', () => {
  it('keeps the message and the code read by errorCode', () => {
    // Prepare
    const error = sdkError('RequestLimitExceeded');

    // Act
    const described = describeError(error);

    // Assess
    expect(described).toEqual({ message: 'RequestLimitExceeded happened', code: 'RequestLimitExceeded' });
  });

  it('describes a thrown value that is not an error without a code', () => {
    // Act
    const described = describeError('gone');

    // Assess
    expect(described).toEqual({ message: 'gone' });
  });
});

describe('PipelineError names', () => {
  /** Every module of the functions and the CLI that declares an error class, by its path. */
  function errorModules(): string[] {
    const root = join(__dirname, '..', '..');
    return ['lambdas', 'bin']
      .flatMap((dir) =>
        readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' }).map((f) => join(root, dir, f)),
      )
      .filter((file) => file.endsWith('.ts') && /extends PipelineError\b/.test(readFileSync(file, 'utf8')));
  }

  it("spells out each class's own name, the name Step Functions reports once bundles are minified", () => {
    // Prepare
    const classes = errorModules().flatMap((file) =>
      Object.values(require(file) as Record<string, unknown>).filter(
        (value): value is new (message: string, extra: never[]) => Error =>
          typeof value === 'function' && value.prototype instanceof PipelineError,
      ),
    );

    // Act
    const names = classes.map((errorClass) => [errorClass.name, new errorClass('m', []).name]);

    // Assess
    expect(classes.length).toBeGreaterThanOrEqual(20);
    for (const [className, name] of names) expect(name).toBe(className);
  });
});
