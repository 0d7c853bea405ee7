import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Key prefixes of the report bucket: each writer owns one, and grants name it. */
export const REPORT_PREFIXES = {
  /** The boot-performance page, rewritten each week (`index.html` and its assets). */
  bootPage: 'boot/',
  /** Reproducibility checks, `repro/<week>/<image>/<role id>:<instance id>/`. */
  repro: 'repro/',
} as const;

/** One of the report bucket's key prefixes. */
export type ReportPrefix = (typeof REPORT_PREFIXES)[keyof typeof REPORT_PREFIXES];

/**
 * IAM's policy variable for the caller's user id: `<role id>:<session name>`, for an instance role
 * `<role id>:<instance id>`. In a Resource it binds the key to whoever makes the request.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, resolved by IAM, not JavaScript.
export const OWN_FOLDER = '${aws:userid}';

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
  grantPutUnder(grantee: iam.IGrantable, prefix: ReportPrefix): void {
    const put = this.grantPut(grantee, prefix, '*');
    put?.validations.acknowledge({
      id: put.finding,
      reason: `Object keys under ${prefix} of the report bucket only: the writer owns that prefix, the keys below it change with what it writes.`,
    });
  }

  /**
   * Lets each session of `grantee` (each instance of an instance role) put objects only into folders named by its
   * own IAM user id below `prefix` (`<prefix>.../<role id>:<session>/...`): no session can write into another's.
   */
  grantPutIntoOwnFolderUnder(grantee: iam.IGrantable, prefix: ReportPrefix): void {
    const put = this.grantPut(grantee, prefix, `*/${OWN_FOLDER}/*`);
    put?.validations.acknowledge({
      id: put.finding,
      reason: `Object keys in folders named by the writer's own user id under ${prefix} only: the policy variable binds the folder to the caller, the keys around it change with what it checks.`,
    });
  }

  /**
   * Adds the put statement; for a role, returns its validations and the cdk-nag finding the wildcard key raises
   * (cdk-nag writes a policy variable `${name}` of the resource as `<name>`).
   */
  private grantPut(
    grantee: iam.IGrantable,
    prefix: ReportPrefix,
    keys: string,
  ): { validations: ReturnType<typeof Validations.of>; finding: string } | undefined {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: `PutUnder${prefix.replace(/\W/g, '')}`,
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${prefix}${keys}`)],
      }),
    );
    if (!(grantee.grantPrincipal instanceof iam.Role)) return undefined;
    const logicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
    const nagKeys = keys.replace(/\$\{([^}]+)\}/g, '<$1>');
    return {
      validations: Validations.of(grantee.grantPrincipal),
      finding: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${prefix}${nagKeys}]`,
    };
  }

  /** Lets `grantee` read objects under `prefix` only. */
  grantReadUnder(grantee: iam.IGrantable, prefix: ReportPrefix): void {
    this.bucket.grantRead(grantee, `${prefix}*`);
  }
}
