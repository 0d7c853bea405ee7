import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../lambdas/core/config';
import { freebsdProfile } from '../../lambdas/core/naming/freebsd';
import { checkOutputFolder, planRepro } from '../../lambdas/core/repro/plan';
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
  instanceRoleId: 'AROAEXAMPLEROLEID1234',
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
    expect(lines).toContain('REPRO_ROLE_ID=AROAEXAMPLEROLEID1234');
    expect(lines).toContain('REPRO_BRANCH=stable/14');
    expect(lines).toContain('REPRO_REVISION=0f1e2d3c4b');
    expect(lines).toContain('REPRO_BUDGET_MINUTES=360');
    expect(lines.some((l) => l.startsWith('export REPRO_BUCKET REPRO_PREFIX'))).toBe(true);
    expect(Buffer.byteLength(userData)).toBeLessThan(USER_DATA_LIMIT_BYTES);
    execFileSync('sh', ['-n'], { input: userData });
  });

  test('uploads into the folder of its own IAM user id, learning its instance id from IMDSv2', () => {
    // Prepare: the job's IMDS function and folder, run with an `nc` that answers as IMDSv2 does: a token for a PUT,
    // the instance id only for a GET that carries that token, 401 otherwise.
    const folderLine = 'FOLDER=$REPRO_PREFIX$REPRO_ROLE_ID:$INSTANCE_ID/';
    const start = script.indexOf('imds() {');
    const end = script.indexOf(folderLine) + folderLine.length;
    const bin = mkdtempSync(join(tmpdir(), 'imds-'));
    const fakeNc = join(bin, 'nc');
    writeFileSync(
      fakeNc,
      [
        '#!/bin/sh',
        'request=$(cat)',
        'case $request in',
        "PUT\\ /latest/api/token*X-aws-ec2-metadata-token-ttl-seconds:*) printf 'HTTP/1.1 200 OK\\r\\nContent-Length: 9\\r\\n\\r\\nTOKEN-123' ;;",
        "GET\\ /latest/meta-data/instance-id*X-aws-ec2-metadata-token:\\ TOKEN-123*) printf 'HTTP/1.1 200 OK\\r\\nServer: EC2ws\\r\\n\\r\\ni-0abc123def4567890' ;;",
        "*) printf 'HTTP/1.1 401 Unauthorized\\r\\n\\r\\n' ;;",
        'esac',
      ].join('\n'),
    );
    chmodSync(fakeNc, 0o755);
    const job = `${script.slice(start, end)}\necho "$FOLDER"\n`;

    // Act
    const folder = execFileSync('sh', ['-c', job], {
      encoding: 'utf8',
      env: { PATH: `${bin}:/usr/bin:/bin`, REPRO_PREFIX: check.reportPrefix, REPRO_ROLE_ID: 'AROAEXAMPLEROLEID1234' },
    });

    // Assess: the folder the instance role's policy lets this instance write to, and the finish reads.
    expect(folder.trim()).toBe(checkOutputFolder(check, 'AROAEXAMPLEROLEID1234', 'i-0abc123def4567890'));
    expect(folder.trim()).toBe('repro/2026-W48/ami-0123456789abcdef0/AROAEXAMPLEROLEID1234:i-0abc123def4567890/');
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
