import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';

/**
 * Failures of the Lambda service rather than of the function: a throttled invocation (the account's concurrency is
 * shared by every function and every Map iteration), a service error, a lost response. Any task may meet them and
 * none of them says anything about the work, so every task retries them.
 */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.TooManyRequestsException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
];

/**
 * A Lambda task of the pipeline's workflows: the lambda:invoke integration, retrying Lambda's own failures with
 * backoff and jitter for up to about ten minutes, so a burst of throttled invocations delays a run without failing
 * it. Retries of the function's own errors are added by each workflow where the work allows them.
 */
export function lambdaTask(scope: Construct, id: string, props: tasks.LambdaInvokeProps): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, id, { ...props, retryOnServiceExceptions: false });
  task.addRetry({
    errors: LAMBDA_SERVICE_ERRORS,
    interval: Duration.seconds(2),
    maxAttempts: 8,
    backoffRate: 2,
    maxDelay: Duration.minutes(2),
    jitterStrategy: sfn.JitterType.FULL,
  });
  return task;
}
