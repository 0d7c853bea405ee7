/** Environment variables the digest function reads; the WeeklyDigest construct sets them. */
export const DIGEST_ENV = {
  publishStateMachine: 'PUBLISH_STATE_MACHINE_ARN',
  pruneStateMachine: 'PRUNE_STATE_MACHINE_ARN',
  auditStateMachine: 'AUDIT_STATE_MACHINE_ARN',
  historyTable: 'BOOT_HISTORY_TABLE',
  topic: 'DIGEST_TOPIC_ARN',
  reproHistoryTable: 'REPRO_HISTORY_TABLE',
  reportBucket: 'REPORT_BUCKET',
} as const;
