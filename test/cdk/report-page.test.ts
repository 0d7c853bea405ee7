import { Match } from 'aws-cdk-lib/assertions';
import { synthesizePipeline } from '../support/cdk';

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Effect: string };

/** The digest role's statements and the report bucket's logical id in a synthesized template. */
function digestView(config: Parameters<typeof synthesizePipeline>[0]) {
  const { template } = synthesizePipeline(config);
  const logicalId = (type: string, prefix: string) =>
    Object.keys(template.findResources(type)).find((id) => id.startsWith(prefix))!;
  const role = logicalId('AWS::IAM::Role', 'DigestFunctionResourcesRole');
  const statements = Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
  return { template, statements, bucket: logicalId('AWS::S3::Bucket', 'ReportsBucket'), logicalId };
}

describe('the boot-performance page, private (default)', () => {
  const { template, statements, bucket, logicalId } = digestView({});

  test('the digest may put objects under boot/ of the report bucket, and nothing else of S3', () => {
    const s3 = statements.filter((s) => JSON.stringify(s.Action).includes('s3:'));

    expect(s3).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/boot/*']] },
      }),
    ]);
  });

  test('the digest is told the bucket and the S3 console link of the page; no distribution is made', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          REPORT_BUCKET: { Ref: bucket },
          REPORT_PAGE_URL: {
            'Fn::Join': ['', Match.arrayWith(['https://s3.console.aws.amazon.com/s3/object/', { Ref: bucket }])],
          },
        }),
      },
    });
    template.resourceCountIs('AWS::CloudFront::Distribution', 0);
    expect(logicalId('AWS::Lambda::Function', 'DigestFunction')).toBeDefined();
  });
});

describe('the boot-performance page, public (report.public)', () => {
  const { template, bucket } = digestView({ report: { public: true } });
  const distribution = Object.keys(template.findResources('AWS::CloudFront::Distribution'))[0]!;

  test('one distribution over the bucket’s boot/ prefix: HTTPS only, security headers, index.html at the root', () => {
    template.resourceCountIs('AWS::CloudFront::Distribution', 1);
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: Match.objectLike({
          ViewerProtocolPolicy: 'https-only',
          AllowedMethods: ['GET', 'HEAD'],
          // The managed SecurityHeadersPolicy.
          ResponseHeadersPolicyId: '67f7725c-6f97-4210-82d7-5512b31e9d03',
        }),
        Origins: [
          Match.objectLike({
            DomainName: { 'Fn::GetAtt': [bucket, 'RegionalDomainName'] },
            OriginPath: '/boot',
            OriginAccessControlId: Match.anyValue(),
            S3OriginConfig: { OriginAccessIdentity: '' },
          }),
        ],
      }),
    });
  });

  test('origin access control signs every request; no origin access identity exists', () => {
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: {
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      },
    });
    template.resourceCountIs('AWS::CloudFront::CloudFrontOriginAccessIdentity', 0);
  });

  test('the bucket lets this distribution read objects, signed by its origin access control', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Action: 's3:GetObject',
            // CloudFront reads from the origin path /boot only: viewers cannot name a key outside boot/.
            Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/*']] },
            Condition: {
              StringEquals: {
                'AWS:SourceArn': Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ Ref: distribution }])] }),
              },
            },
          }),
        ]),
      },
    });
  });

  test('the digest links the distribution’s address', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          REPORT_PAGE_URL: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distribution, 'DomainName'] }, '/']] },
        }),
      },
    });
  });
});
