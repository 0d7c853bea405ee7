import { Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import { Construct } from 'constructs';
import { REPORT_PREFIXES, type ReportBucket } from './report-bucket';

/**
 * The boot-performance page for everyone (`report.public`): a CloudFront distribution whose origin is the report
 * bucket's `boot/` prefix, read through origin access control (the bucket stays private and blocks public access),
 * HTTPS only, with the managed security-headers policy; `/` serves `boot/index.html`. Nothing else of the bucket
 * (reproducibility outputs) is reachable through it.
 */
export class ReportSite extends Construct {
  readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, id: string, props: { readonly reports: ReportBucket }) {
    super(scope, id);
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Boot-performance page of the weekly builds',
      defaultRootObject: 'index.html',
      priceClass: cloudfront.PriceClass.PRICE_CLASS_ALL,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(props.reports.bucket, {
          originPath: `/${REPORT_PREFIXES.bootPage.replace(/\/$/, '')}`,
          originAccessLevels: [cloudfront.AccessLevel.READ],
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
      },
    });
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason:
          'The page is published for FreeBSD users in every country; there is no audience to restrict by geography.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'The origin is one private bucket prefix of static, read-only pages behind origin access control: no application, form or query for a web ACL to filter; CloudFront’s Shield Standard covers floods.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason:
          'CloudFront standard logs need an ACL-enabled bucket, which the stack’s buckets refuse (bucket owner enforced); every object CloudFront fetches is recorded by the report bucket’s server access logs.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The distribution uses CloudFront’s default *.cloudfront.net certificate, whose minimum TLS version CloudFront fixes; viewers are served over HTTPS only.',
      },
    );
  }

  /** The page's public address. */
  get url(): string {
    return `https://${this.distribution.distributionDomainName}/`;
  }
}
