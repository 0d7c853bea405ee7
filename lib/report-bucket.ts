import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Key prefixes of the report bucket: each writer owns one, and grants name it. */
export const REPORT_PREFIXES = {
  /** The boot-performance page, rewritten each week (`index.html` and its assets). */
  bootPage: 'boot/',
  /** Reproducibility checks, `repro/<week>/<image>/`. */
  repro: 'repro/',
} as const;

/** Days a replaced or deleted report version stays recoverable. */
export const REPORT_NONCURRENT_DAYS = 90;
/** Days a reproducibility check's output is kept (diffoscope outputs are large and a year of them is plenty). */
export const REPRO_RETENTION_DAYS = 365;
/** Days the access logs of the report bucket are kept. */
export const ACCESS_LOG_RETENTION_DAYS = 90;

/**
 * The stack's bucket for what people read: the boot-performance page and the reproducibility checks. Private (all
 * public access blocked; a public page goes through CloudFront with origin access control), TLS only, encrypted,
 * versioned so a bad week's page can be rolled back, with lifecycle rules on old versions and old outputs, and
 * access logs in a bucket of its own.
 */
export class ReportBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // Log delivery is granted by a bucket policy, not the legacy LogDeliveryWrite ACL, whatever the app's flags say.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-old-logs', expiration: Duration.days(ACCESS_LOG_RETENTION_DAYS) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket receives the report bucket’s access logs; logging it to itself would log its own writes.',
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'reports/',
      lifecycleRules: [
        { id: 'expire-replaced-versions', noncurrentVersionExpiration: Duration.days(REPORT_NONCURRENT_DAYS) },
        {
          id: 'expire-old-repro-outputs',
          prefix: REPORT_PREFIXES.repro,
          expiration: Duration.days(REPRO_RETENTION_DAYS),
        },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /**
   * Lets `grantee` put objects under `prefix` only: s3:PutObject and nothing else (no read, no delete, no tagging,
   * retention or legal hold, no other prefix).
   */
  grantPutUnder(grantee: iam.IGrantable, prefix: (typeof REPORT_PREFIXES)[keyof typeof REPORT_PREFIXES]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: `PutUnder${prefix.replace(/\W/g, '')}`,
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${prefix}*`)],
      }),
    );
    if (grantee.grantPrincipal instanceof iam.Role) {
      const logicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
      Validations.of(grantee.grantPrincipal).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${prefix}*]`,
        reason: `Object keys under ${prefix} of the report bucket only: the writer owns that prefix, the keys below it change with what it writes.`,
      });
    }
  }

  /** Lets `grantee` read objects under `prefix` only. */
  grantReadUnder(grantee: iam.IGrantable, prefix: (typeof REPORT_PREFIXES)[keyof typeof REPORT_PREFIXES]): void {
    this.bucket.grantRead(grantee, `${prefix}*`);
  }
}
