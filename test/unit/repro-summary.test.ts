import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DiffoscopeOutputError,
  InstanceSummaryError,
  judgeCheck,
  parseDiffoscopeJson,
  parseInstanceSummary,
} from '../../lambdas/core/repro/summary';

const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'repro', name), 'utf8');

describe('diffoscope JSON output', () => {
  test('of two file trees names each differing file relative to the compared roots', () => {
    // Prepare
    const text = fixture('trees.json');

    // Act
    const findings = parseDiffoscopeJson(text);

    // Assess
    expect(findings).toEqual({
      differingFiles: 2,
      topPaths: ['boot/loader.conf', 'etc/motd'],
      comments: [],
      binaryOnly: false,
    });
  });

  test('of two raw images without a file system view is one binary difference with diffoscope’s note', () => {
    const findings = parseDiffoscopeJson(fixture('raw.json'));

    expect(findings.binaryOnly).toBe(true);
    expect(findings.differingFiles).toBe(1);
    expect(findings.topPaths).toEqual(['b.img']);
    expect(findings.comments.join(' ')).toMatch(/falling back to a binary diff/);
  });

  test('of identical inputs (diffoscope writes no file) is no difference', () => {
    expect(parseDiffoscopeJson('')).toEqual({ differingFiles: 0, topPaths: [], comments: [], binaryOnly: false });
  });

  test('keeps only the first paths asked for, and counts all of them', () => {
    const findings = parseDiffoscopeJson(fixture('trees.json'), 1);

    expect(findings.differingFiles).toBe(2);
    expect(findings.topPaths).toEqual(['boot/loader.conf']);
  });

  test('that is not diffoscope output is refused', () => {
    expect(() => parseDiffoscopeJson('{"source1": "a"}')).toThrow(DiffoscopeOutputError);
    expect(() => parseDiffoscopeJson(fixture('trees.txt'))).toThrow(DiffoscopeOutputError);
  });
});

describe('the instance summary', () => {
  test('reads status, durations, tools and differing paths with their sizes', () => {
    const summary = parseInstanceSummary(fixture('summary-differs.json'));

    expect(summary.status).toBe('differs');
    expect(summary.durations.buildSeconds).toBe(9120);
    expect(summary.tools.diffoscope).toBe('diffoscope 285');
    expect(summary.differences).toEqual([
      { path: 'boot/loader.conf', builtBytes: 35, referenceBytes: 16 },
      { path: 'etc/motd', builtBytes: 61, referenceBytes: 21 },
    ]);
  });

  test('of another shape is an error naming the field', () => {
    expect(() => parseInstanceSummary('{"version":1,"status":"fine"}')).toThrow(/status/);
    expect(() => parseInstanceSummary('not json')).toThrow(InstanceSummaryError);
  });
});

describe('judging a check', () => {
  test('a summary saying the images are identical is reproducible', () => {
    const outcome = judgeCheck({ summaryText: fixture('summary-reproducible.json'), ended: 'reported' });

    expect(outcome).toEqual({
      status: 'reproducible',
      differingFiles: 0,
      topPaths: [],
      reason: 'the built image is byte for byte the AMI snapshot',
    });
  });

  test('differences are counted from diffoscope’s own output when it is there', () => {
    const outcome = judgeCheck({
      summaryText: fixture('summary-differs.json'),
      diffoscopeJson: fixture('trees.json'),
      ended: 'reported',
    });

    expect(outcome.status).toBe('differs');
    expect(outcome.differingFiles).toBe(2);
    expect(outcome.topPaths).toEqual(['boot/loader.conf', 'etc/motd']);
  });

  test('without diffoscope output (or with a cut one) the summary’s list is used, largest first', () => {
    const outcome = judgeCheck({
      summaryText: fixture('summary-differs.json'),
      diffoscopeJson: fixture('trees.json').slice(0, 100),
      ended: 'reported',
    });

    expect(outcome).toMatchObject({ status: 'differs', differingFiles: 2, topPaths: ['etc/motd', 'boot/loader.conf'] });
  });

  test('a failed build, a timeout, silence and a failed step are each told apart', () => {
    expect(judgeCheck({ summaryText: fixture('summary-build-failed.json'), ended: 'reported' })).toMatchObject({
      status: 'build-failed',
      reason: 'make exited with 2',
    });
    expect(judgeCheck({ ended: 'timeout' }).status).toBe('timeout');
    expect(judgeCheck({ ended: 'instance-ended' }).status).toBe('no-report');
    expect(judgeCheck({ ended: 'instance-ended', failure: 'RunInstances refused' })).toMatchObject({
      status: 'failed',
      reason: 'RunInstances refused',
    });
    expect(judgeCheck({ summaryText: '{', ended: 'reported' }).status).toBe('failed');
  });
});
