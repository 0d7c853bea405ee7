import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyConsole, consoleFails, normaliseConsole } from '../../lambdas/core/boot/console';

const transcript = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'console', name), 'utf8');

describe('FreeBSD console classifier', () => {
  test('an amd64 UFS boot that reaches the login prompt passes with no findings', () => {
    const verdict = classifyConsole(transcript('amd64-ufs-login.txt'));

    expect(verdict.status).toBe('login');
    expect(verdict.loginPromptSeen).toBe(true);
    expect(verdict.findings).toEqual([]);
    expect(verdict.excerpt).toBeUndefined();
    expect(consoleFails(verdict)).toBe(false);
  });

  test('an arm64 ZFS boot on Graviton 2 reaches login and reports the entropy wait as a delay', () => {
    const verdict = classifyConsole(transcript('arm64-zfs-login.txt'));

    expect(verdict.status).toBe('login');
    expect(verdict.findings.map((f) => [f.rule, f.severity])).toEqual([['entropy-wait', 'delay']]);
    expect(verdict.reason).toMatch(/login prompt at console line \d+; delayed by entropy-wait/);
    expect(consoleFails(verdict)).toBe(false);
  });

  test('an amd64 ZFS kernel panic fails with the trap and the backtrace in the excerpt', () => {
    const verdict = classifyConsole(transcript('amd64-zfs-panic.txt'));

    expect(verdict.status).toBe('panic');
    expect(verdict.loginPromptSeen).toBe(false);
    expect(verdict.reason).toMatch(/^fatal trap in kernel mode at console line \d+: Fatal trap 12: page fault/);
    expect(verdict.findings.map((f) => f.rule)).toEqual(['fatal-trap', 'panic']);
    expect(verdict.excerpt).toContain('Fatal trap 12: page fault while in kernel mode');
    expect(verdict.excerpt).toContain('panic: page fault');
    expect(verdict.excerpt).toContain('current process\t\t= 58 (zpool)');
    expect(consoleFails(verdict)).toBe(true);
  });

  test('an arm64 UFS boot that cannot mount root fails as a mount-root failure with the mountroot prompt kept', () => {
    const verdict = classifyConsole(transcript('arm64-ufs-mountroot.txt'));

    expect(verdict.status).toBe('mount-root-failure');
    expect(verdict.reason).toContain('Mounting from ufs:/dev/gpt/rootfs failed with error 19.');
    expect(verdict.excerpt).toContain('Trying to mount root from ufs:/dev/gpt/rootfs [rw]...');
    expect(verdict.excerpt).toContain('vfs.root.mountfrom=ufs:/dev/gpt/rootfs');
    expect(verdict.findings.map((f) => f.rule)).toEqual(['mount-root-failed', 'mountroot-prompt']);
  });

  test('an IMDS timeout that delays an amd64 boot is reported, but the boot still counts as reaching login', () => {
    const verdict = classifyConsole(transcript('amd64-ufs-imds-timeout.txt'));

    expect(verdict.status).toBe('login');
    const timeouts = verdict.findings.filter((f) => f.rule === 'imds-timeout');
    expect(timeouts).toHaveLength(3);
    expect(timeouts[0]!.line).toBe('fetch: http://169.254.169.254/latest/api/token: Operation timed out');
    expect(verdict.reason).toContain('delayed by imds-timeout');
  });

  test('a console cut off before the login prompt is incomplete, with its last lines as the excerpt', () => {
    const full = transcript('amd64-ufs-login.txt');
    const cut = full.slice(0, full.indexOf('Starting sshd.'));

    const verdict = classifyConsole(cut);

    expect(verdict.status).toBe('incomplete');
    expect(consoleFails(verdict)).toBe(false);
    expect(verdict.excerpt?.split('\n').at(-1)).toBe('Generating ED25519 host key.');
  });

  test('a login prompt without the getty banner before it is not taken for a finished boot', () => {
    expect(classifyConsole('Starting sshd.\nlogin: \n').status).toBe('incomplete');
  });

  test('CR line ends, ANSI colour and stray control characters do not hide a panic', () => {
    const text = 'Starting devd.\r\n\x1b[1;31mpanic: \x1b[0mvm_fault: fault on nofault entry\x07\r\ncpuid = 0\r\n';

    expect(normaliseConsole(text)[1]).toBe('panic: vm_fault: fault on nofault entry');
    expect(classifyConsole(text).status).toBe('panic');
  });

  test('an nvme controller that loses its interrupts after hot-plug cycles is a failure', () => {
    const text = `${transcript('amd64-ufs-login.txt')}nvme1: Missing interrupt\n`;

    const verdict = classifyConsole(text);

    expect(verdict.status).toBe('failure');
    expect(verdict.reason).toContain('an NVMe controller lost its interrupts');
  });
});
