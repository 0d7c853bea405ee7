import * as z from 'zod';
import { PipelineError } from '../errors';

/** What the instance job says it found (`summary.json`, written by lambdas/repro/instance-job.sh). */
export const INSTANCE_STATUSES = ['reproducible', 'differs', 'build-failed', 'timeout', 'error'] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

const seconds = z.number().min(0).optional();
const imageFacts = z.object({ bytes: z.number().int().min(0).optional(), sha256: z.string().optional() }).optional();

const instanceSummarySchema = z.object({
  version: z.literal(1),
  status: z.enum(INSTANCE_STATUSES),
  stage: z.string().optional(),
  message: z.string().optional(),
  revision: z.string().optional(),
  tools: z.record(z.string(), z.string()).default({}),
  durations: z
    .object({ fetchSeconds: seconds, buildSeconds: seconds, diffSeconds: seconds, totalSeconds: seconds })
    .default({}),
  images: z.object({ built: imageFacts, reference: imageFacts }).default({}),
  differences: z
    .array(
      z.object({
        path: z.string(),
        builtBytes: z.number().int().min(0).optional(),
        referenceBytes: z.number().int().min(0).optional(),
      }),
    )
    .default([]),
});

export type InstanceSummary = z.output<typeof instanceSummarySchema>;

/** The instance's summary was not the JSON the job writes. */
export class InstanceSummaryError extends PipelineError {
  override readonly name: string = 'InstanceSummaryError';
}

/** Reads the instance job's `summary.json`; anything else is an InstanceSummaryError naming what was wrong. */
export function parseInstanceSummary(text: string): InstanceSummary {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InstanceSummaryError('the summary is not JSON', { cause: error });
  }
  const parsed = instanceSummarySchema.safeParse(raw);
  if (!parsed.success)
    throw new InstanceSummaryError(
      `the summary does not have the expected fields: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      { cause: parsed.error },
    );
  return parsed.data;
}

/** One node of diffoscope's JSON output (`diffoscope-json-version` 1). */
interface DiffoscopeNode {
  readonly source1?: string;
  readonly source2?: string;
  readonly unified_diff?: string | null;
  readonly comments?: readonly string[];
  readonly details?: readonly DiffoscopeNode[];
}

/** What diffoscope's JSON output says, reduced to what a report shows. */
export interface DiffoscopeFindings {
  /** Leaves of the difference tree: files (or, for a binary fallback, the whole image) that differ. */
  readonly differingFiles: number;
  /** Paths of the first differing files, relative to the compared roots. */
  readonly topPaths: readonly string[];
  /** diffoscope's own notes, e.g. that it fell back to a binary comparison. */
  readonly comments: readonly string[];
  /** True when diffoscope could only compare bytes (no file system view of the images). */
  readonly binaryOnly: boolean;
}

/** diffoscope's JSON output was not what it writes. */
export class DiffoscopeOutputError extends PipelineError {
  override readonly name: string = 'DiffoscopeOutputError';
}

function relative(path: string | undefined, root: string | undefined): string {
  if (!path) return '?';
  if (root && path.startsWith(`${root}/`)) return path.slice(root.length + 1);
  return path;
}

/**
 * Reads diffoscope's `--json` output into the number of differing files and the first `top` of their paths.
 * Identical inputs make diffoscope write no file at all: pass an empty string and get zero differences.
 */
export function parseDiffoscopeJson(text: string, top = 10): DiffoscopeFindings {
  if (text.trim() === '') return { differingFiles: 0, topPaths: [], comments: [], binaryOnly: false };
  let root: DiffoscopeNode & { 'diffoscope-json-version'?: number };
  try {
    root = JSON.parse(text);
  } catch (error) {
    throw new DiffoscopeOutputError('diffoscope output is not JSON', { cause: error });
  }
  if (typeof root !== 'object' || root === null || root['diffoscope-json-version'] !== 1)
    throw new DiffoscopeOutputError('not diffoscope JSON output of version 1');
  const files = new Set<string>();
  const comments: string[] = [...(root.comments ?? [])];
  const isPath = (source: string | undefined): source is string =>
    source !== undefined && (source === root.source2 || source.startsWith(`${root.source2}/`));
  // A node whose name is not a path (`stat {}`, `file list`, an archive member) is another view of the nearest file
  // above it: that file is what differs.
  const walk = (node: DiffoscopeNode, owner: string | undefined) => {
    const here = isPath(node.source2) ? node.source2 : owner;
    if (node !== root && node.comments) comments.push(...node.comments);
    if (!node.details?.length) {
      files.add(relative(here, root.source2));
      return;
    }
    for (const child of node.details) walk(child, here);
  };
  walk(root, root.source2);
  const leaves = [...files];
  const binaryOnly = !root.details?.length && Boolean(root.unified_diff);
  return {
    differingFiles: leaves.length,
    topPaths: leaves.slice(0, top),
    comments,
    binaryOnly,
  };
}

/** How a check ended, as the history and the digest tell it. */
export type ReproStatus = 'reproducible' | 'differs' | 'build-failed' | 'timeout' | 'no-report' | 'failed';

/** The judged result of one check. */
export interface ReproOutcome {
  readonly status: ReproStatus;
  readonly differingFiles: number;
  readonly topPaths: readonly string[];
  readonly reason: string;
}

/** What the workflow saw of a check besides the instance's own summary. */
export interface CheckObservation {
  /** The summary object's text, when the instance wrote one. */
  readonly summaryText?: string;
  /** diffoscope's JSON output of the file trees, when there is one. */
  readonly diffoscopeJson?: string;
  /** Why the workflow stopped waiting: the summary arrived, the instance ended, or the time ran out. */
  readonly ended: 'reported' | 'instance-ended' | 'timeout';
  /** A failure of the workflow's own steps (launch, poll), if one ended the check. */
  readonly failure?: string;
}

const STATUS_OF: Readonly<Record<InstanceStatus, ReproStatus>> = {
  reproducible: 'reproducible',
  differs: 'differs',
  'build-failed': 'build-failed',
  timeout: 'timeout',
  error: 'failed',
};

/**
 * Judges a check from the instance's summary and diffoscope's output: reproducible, or how many files differ and
 * which; a build that failed, a check that ran out of time, an instance that ended without a word. diffoscope's
 * own output wins over the summary's list when both are there (the summary's list is a shell's best effort).
 */
export function judgeCheck(observation: CheckObservation): ReproOutcome {
  if (observation.failure) return { status: 'failed', differingFiles: 0, topPaths: [], reason: observation.failure };
  if (observation.summaryText === undefined) {
    if (observation.ended === 'timeout')
      return {
        status: 'timeout',
        differingFiles: 0,
        topPaths: [],
        reason: 'no summary before the time budget ran out',
      };
    return { status: 'no-report', differingFiles: 0, topPaths: [], reason: 'the instance ended without a summary' };
  }
  let summary: InstanceSummary;
  try {
    summary = parseInstanceSummary(observation.summaryText);
  } catch (error) {
    return { status: 'failed', differingFiles: 0, topPaths: [], reason: (error as Error).message };
  }
  const status = STATUS_OF[summary.status];
  if (status !== 'differs')
    return {
      status,
      differingFiles: 0,
      topPaths: [],
      reason: summary.message ?? (status === 'reproducible' ? 'identical images' : `ended at ${summary.stage ?? '?'}`),
    };
  let findings: DiffoscopeFindings | undefined;
  try {
    findings = observation.diffoscopeJson === undefined ? undefined : parseDiffoscopeJson(observation.diffoscopeJson);
  } catch {
    findings = undefined;
  }
  if (findings && findings.differingFiles > 0)
    return {
      status,
      differingFiles: findings.differingFiles,
      topPaths: findings.topPaths,
      reason: findings.binaryOnly ? 'the images differ; diffoscope compared bytes only' : 'files differ',
    };
  const largest = [...summary.differences].sort(
    (a, b) => Math.max(b.builtBytes ?? 0, b.referenceBytes ?? 0) - Math.max(a.builtBytes ?? 0, a.referenceBytes ?? 0),
  );
  return {
    status,
    differingFiles: summary.differences.length,
    topPaths: largest.slice(0, 10).map((d) => d.path),
    reason: summary.message ?? 'files differ',
  };
}
