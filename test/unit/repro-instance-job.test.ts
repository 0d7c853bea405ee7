import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../lambdas/core/config';
import { freebsdProfile } from '../../lambdas/core/naming/freebsd';
import { planRepro } from '../../lambdas/core/repro/plan';
import { instanceJobUserData, ReproUserDataError, USER_DATA_LIMIT_BYTES } from '../../lambdas/core/repro/user-data';

const SCRIPT_PATH = join(__dirname, '..', '..', 'lambdas', 'repro', 'instance-job.sh');
const script = readFileSync(SCRIPT_PATH, 'utf8');

const check = planRepro({
  images: [
    {
      imageId: 'ami-0123456789abcdef0',
      region: 'us-east-1',
      name: 'FreeBSD 14.3-STABLE-arm64-20261126 builder UFS',
      description: 'FreeBSD/arm64 stable/14@0f1e2d3c4b',
      rootSnapshotId: 'snap-0123456789abcdef0',
    },
  ],
  config: parseConfig({}),
  profile: freebsdProfile,
  now: new Date('2026-11-28T12:00:00Z'),
}).checks[0]!;
const parameters = {
  bucket: 'reportsbucket-123456789012-us-east-1',
  region: 'us-east-1',
  sourceRepository: 'https://git.FreeBSD.org/src.git',
  check,
};

describe('the instance job', () => {
  test('is POSIX sh that shellcheck finds nothing in', () => {
    // Act: both tools exit non-zero, and execFileSync throws with their output, on any finding.
    execFileSync('sh', ['-n', SCRIPT_PATH]);
    const output = execFileSync('shellcheck', ['--shell=sh', '--severity=style', SCRIPT_PATH], { encoding: 'utf8' });

    // Assess
    expect(output).toBe('');
  });

  test('as user data carries its parameters as exported assignments, still valid sh within EC2’s limit', () => {
    const userData = instanceJobUserData(script, parameters);

    const lines = userData.split('\n');
    expect(lines[0]).toBe('#!/bin/sh');
    expect(lines).toContain('REPRO_PREFIX=repro/2026-W48/ami-0123456789abcdef0/');
    expect(lines).toContain('REPRO_BRANCH=stable/14');
    expect(lines).toContain('REPRO_REVISION=0f1e2d3c4b');
    expect(lines).toContain('REPRO_BUDGET_MINUTES=360');
    expect(lines.some((l) => l.startsWith('export REPRO_BUCKET REPRO_PREFIX'))).toBe(true);
    expect(Buffer.byteLength(userData)).toBeLessThan(USER_DATA_LIMIT_BYTES);
    execFileSync('sh', ['-n'], { input: userData });
  });

  test('refuses a value sh would read as more than a word', () => {
    expect(() => instanceJobUserData(script, { ...parameters, bucket: 'b; reboot' })).toThrow(ReproUserDataError);
    expect(() => instanceJobUserData(script, { ...parameters, check: { ...check, gitBranch: 'main$(id)' } })).toThrow(
      /REPRO_BRANCH/,
    );
  });

  test('refuses user data over EC2’s 16 KiB', () => {
    const long = `${script}\n${'#'.repeat(USER_DATA_LIMIT_BYTES)}\n`;

    expect(() => instanceJobUserData(long, parameters)).toThrow(/over EC2's 16384-byte limit/);
  });
});
