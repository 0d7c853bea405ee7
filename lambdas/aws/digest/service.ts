import {
  DescribeExecutionCommand,
  type ExecutionListItem,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { PipelineConfig } from '../../core/config';
import type { Digest } from '../../core/digest';
import {
  auditSummaryFromExecutions,
  bootTestSummaryFromHistory,
  type DigestWindow,
  digestWindow,
  type ExecutionRecord,
  inWindow,
  type PartSummary,
  pruneSummaryFromExecutions,
  publishSummaryFromExecutions,
  renderWeeklyDigest,
} from '../../core/digest-week';
import { describeError, PipelineError } from '../../core/errors';
import { type DigestSection, type ReportLocation, reproDigestSection } from '../../core/repro/digest';
import { type Logger, silentLogger } from '../../shared/logger';
import type { BootHistoryRow } from '../../core/boot/result';
import { bootReportModel, renderBootReportPage } from '../../core/report';
import { bootPageDigestSection } from '../../core/report/digest';
import type { ReproHistoryStore } from '../repro/history';
import type { BootHistoryStore } from '../boot/history';
import { BOOT_PAGE_KEY, putBootReport } from '../report/boot-page';
import type { ClientFactory } from '../clients';

export interface DigestOptions {
  readonly config: PipelineConfig;
  readonly clients: ClientFactory;
  /** End of the reported week; the window is the 7 days before it. */
  readonly now: Date;
  readonly logger?: Logger;
  /** State machines whose executions are reported; a part without one is said to be missing. */
  readonly publishStateMachineArn?: string;
  readonly pruneStateMachineArn?: string;
  /** The audit state machine; without it the digest has no audit part. */
  readonly auditStateMachineArn?: string;
  /** Boot history; without it the boot-test part is said to be missing. */
  readonly history?: BootHistoryStore;
  /** Where the digest is published; without it the digest is only returned. */
  readonly topicArn?: string;
  /** Writes the boot-performance page to this bucket (`boot/index.html`) and links `url` in the mail. */
  readonly bootPage?: { readonly bucket: string; readonly url: string };
  /** Reproducibility history and where the checks' outputs are; without it the digest has no such section. */
  readonly repro?: { readonly history: ReproHistoryStore; readonly location: ReportLocation };
}

export interface DigestResult {
  readonly window: DigestWindow;
  readonly digest: Digest;
  readonly messageId?: string;
  /** Parts whose data could not be read (API errors); the digest names them too. */
  readonly unreadable: readonly string[];
}

/** Raised after the digest was sent when some part could not be read, so the function's error alarm fires. */
export class DigestIncompleteError extends PipelineError {
  override readonly name: string = 'DigestIncompleteError';
}

/** Executions of `stateMachineArn` started in `window`, newest first, with their outputs. */
export async function executionsInWindow(
  clients: ClientFactory,
  stateMachineArn: string,
  window: DigestWindow,
): Promise<ExecutionRecord[]> {
  const sfn = clients.client(SFNClient, stateMachineArn.split(':')[3] ?? '');
  const listed: ExecutionListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn, nextToken, maxResults: 100 }));
    const executions = page.executions ?? [];
    listed.push(...executions);
    nextToken = page.nextToken;
    // Step Functions lists newest first: once a page reaches back before the window, older pages cannot matter.
    if (executions.some((e) => e.startDate && e.startDate.toISOString() < window.from)) break;
  } while (nextToken);
  const records: ExecutionRecord[] = [];
  for (const item of listed) {
    if (!item.executionArn || !item.startDate || !inWindow(item.startDate.toISOString(), window)) continue;
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: item.executionArn }));
    records.push({
      executionArn: item.executionArn,
      name: described.name ?? item.name ?? item.executionArn,
      status: described.status ?? item.status ?? 'UNKNOWN',
      startDate: (described.startDate ?? item.startDate).toISOString(),
      stopDate: described.stopDate?.toISOString(),
      output: described.output,
      error: described.error,
      cause: described.cause,
      failedWithState: described.status === 'FAILED' ? await failStateInput(sfn, item.executionArn) : undefined,
    });
  }
  return records;
}

/** Events read back from a failed execution's end to find its Fail state; the Fail state is among the last. */
const HISTORY_TAIL = 25;

/**
 * The input of the Fail state a failed execution ended in, from the newest events of its history. The workflows
 * reach their Fail state after summing up, so this input is the run's final state; Step Functions keeps no output
 * for a failed execution. Undefined when it failed elsewhere (a task error, a timeout).
 */
async function failStateInput(sfn: SFNClient, executionArn: string): Promise<string | undefined> {
  const page = await sfn.send(
    new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: HISTORY_TAIL }),
  );
  return page.events?.find((e) => e.type === 'FailStateEntered')?.stateEnteredEventDetails?.input;
}

/**
 * The weekly report: reads the week's publish, audit and prune executions and the boot history, renders one digest and
 * publishes it. A part with no data is said in the digest; a part that cannot be read is named in it, and the
 * digest is still sent.
 */
export async function runDigest(options: DigestOptions): Promise<DigestResult> {
  const { config, clients } = options;
  const logger = options.logger ?? silentLogger;
  const window = digestWindow(options.now);
  const unreadable: string[] = [];
  const read = async <T>(part: string, fallback: PartSummary<T>, work: () => Promise<PartSummary<T>>) => {
    try {
      return await work();
    } catch (error) {
      const { message } = describeError(error);
      logger.error('digest part unreadable', { part, error: message });
      unreadable.push(`${part}: ${message}`);
      return fallback;
    }
  };
  const missing = (what: string) => ({ notes: [`No ${what} is configured for this digest.`] });

  const publishArn = options.publishStateMachineArn;
  const publish = publishArn
    ? await read('publish executions', { notes: [] }, async () =>
        publishSummaryFromExecutions(await executionsInWindow(clients, publishArn, window), window),
      )
    : missing('publish state machine');
  const pruneArn = options.pruneStateMachineArn;
  const prune = pruneArn
    ? await read('prune executions', { notes: [] }, async () =>
        pruneSummaryFromExecutions(await executionsInWindow(clients, pruneArn, window), window),
      )
    : missing('prune state machine');
  const auditArn = options.auditStateMachineArn;
  const audit = auditArn
    ? await read('audit executions', { notes: [] }, async () =>
        auditSummaryFromExecutions(await executionsInWindow(clients, auditArn, window), window),
      )
    : undefined;
  const history = options.history;
  let rows: BootHistoryRow[] | undefined;
  const bootTest = history
    ? await read('boot history', { notes: [] }, async () => {
        rows = await history.list();
        return bootTestSummaryFromHistory(rows, window, config.bootTest.regression);
      })
    : missing('boot history table');
  const sections: DigestSection[] = [];
  const page = options.bootPage;
  if (page && rows) {
    const history = rows;
    await read('boot-performance page', { notes: [] }, async () => {
      const html = await renderBootReportPage(
        bootReportModel(history, config.bootTest.regression, { generatedAt: options.now }),
      );
      await putBootReport(clients, { bucket: page.bucket, region: config.buildRegion, html });
      sections.push(bootPageDigestSection(page.url));
      logger.info('boot page written', { bucket: page.bucket, key: BOOT_PAGE_KEY, bytes: html.length });
      return { notes: [] };
    });
  }

  const repro = options.repro;
  if (repro) {
    try {
      sections.push(reproDigestSection(await repro.history.list(), window, repro.location));
    } catch (error) {
      const { message } = describeError(error);
      logger.error('digest part unreadable', { part: 'reproducibility history', error: message });
      unreadable.push(`reproducibility history: ${message}`);
    }
  }

  const digest = renderWeeklyDigest({
    window,
    subjectPrefix: config.notifications.subjectPrefix,
    publish,
    bootTest,
    prune,
    audit,
    unreadable,
    sections,
  });
  let messageId: string | undefined;
  if (options.topicArn) {
    const sent = await clients
      .client(SNSClient, options.topicArn.split(':')[3] ?? config.buildRegion)
      .send(new PublishCommand({ TopicArn: options.topicArn, Subject: digest.subject, Message: digest.text }));
    messageId = sent.MessageId;
  }
  return { window, digest, messageId, unreadable };
}
