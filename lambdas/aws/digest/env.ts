/** Environment variables the digest function reads; the WeeklyDigest construct sets them. */
export const DIGEST_ENV = {
  publishStateMachine: 'PUBLISH_STATE_MACHINE_ARN',
  pruneStateMachine: 'PRUNE_STATE_MACHINE_ARN',
  auditStateMachine: 'AUDIT_STATE_MACHINE_ARN',
  historyTable: 'BOOT_HISTORY_TABLE',
  topic: 'DIGEST_TOPIC_ARN',
  reproHistoryTable: 'REPRO_HISTORY_TABLE',
  /** The stack's report bucket, where the boot-performance page is written. */
  reportBucket: 'REPORT_BUCKET',
  /** The page's address for the mail: its CloudFront URL with `report.public`, else its S3 console link. */
  reportPageUrl: 'REPORT_PAGE_URL',
} as const;
