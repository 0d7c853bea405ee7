/** What the console of a test instance says about its boot. */
export type ConsoleStatus = 'login' | 'panic' | 'mount-root-failure' | 'failure' | 'incomplete';

/** How bad a matched console line is: fatal lines fail the boot, delays are reported but do not fail it. */
export type FindingSeverity = 'fatal' | 'delay';

/** One known console line, with where it was seen. */
export interface ConsoleFinding {
  readonly rule: string;
  readonly severity: FindingSeverity;
  readonly description: string;
  /** 1-based line number in the normalised console text. */
  readonly lineNumber: number;
  readonly line: string;
}

/** The classification of one console transcript. */
export interface ConsoleVerdict {
  readonly status: ConsoleStatus;
  readonly reason: string;
  readonly loginPromptSeen: boolean;
  readonly findings: readonly ConsoleFinding[];
  /** Lines around the first fatal finding (or the tail of an incomplete boot), kept for the report. */
  readonly excerpt?: string;
}

interface ConsoleRule {
  readonly id: string;
  readonly severity: FindingSeverity;
  readonly description: string;
  readonly pattern: RegExp;
  /** Which status a fatal rule gives the boot. */
  readonly status?: Exclude<ConsoleStatus, 'login' | 'incomplete'>;
}

// Lines FreeBSD prints when a boot goes wrong, from sys/kern (panic, trap), sys/kern/vfs_mountroot.c (mountroot),
// sbin/init and etc/rc (single user, fsck), the nvme driver (lost interrupts after many hot-plugs) and the EC2 rc
// scripts, which wait for the instance metadata service.
const RULES: readonly ConsoleRule[] = [
  { id: 'panic', severity: 'fatal', status: 'panic', description: 'kernel panic', pattern: /^panic: / },
  {
    id: 'fatal-trap',
    severity: 'fatal',
    status: 'panic',
    description: 'fatal trap in kernel mode',
    pattern: /^Fatal trap \d+: /,
  },
  {
    id: 'mount-root-failed',
    severity: 'fatal',
    status: 'mount-root-failure',
    description: 'the root file system could not be mounted',
    pattern: /^Mounting from \S+ failed with error \d+/,
  },
  {
    id: 'mountroot-prompt',
    severity: 'fatal',
    status: 'mount-root-failure',
    description: 'the kernel asks for a root file system',
    pattern: /^mountroot>/,
  },
  {
    id: 'zfs-io-error',
    severity: 'fatal',
    status: 'failure',
    description: 'the loader cannot read the ZFS pool',
    pattern: /^ZFS: i\/o error - all block copies unavailable/,
  },
  {
    id: 'kernel-not-loaded',
    severity: 'fatal',
    status: 'failure',
    description: 'the loader cannot load the kernel',
    pattern: /^can't load 'kernel'/,
  },
  {
    id: 'single-user',
    severity: 'fatal',
    status: 'failure',
    description: 'boot stopped in single-user mode',
    pattern: /^Enter full pathname of shell or RETURN for \/bin\/sh:/,
  },
  {
    id: 'fsck-manual',
    severity: 'fatal',
    status: 'failure',
    description: 'the root file system needs a manual fsck',
    pattern: /RUN fsck MANUALLY/,
  },
  {
    id: 'nvme-missing-interrupt',
    severity: 'fatal',
    status: 'failure',
    description: 'an NVMe controller lost its interrupts',
    pattern: /^nvme\d+: Missing interrupt/,
  },
  {
    id: 'imds-timeout',
    severity: 'delay',
    description: 'a request to the instance metadata service timed out, delaying the boot',
    pattern: /169\.254\.169\.254.*(timed out|Operation timed out|Connection refused|No route to host)/,
  },
  {
    id: 'entropy-wait',
    severity: 'delay',
    description: 'the boot waited for the random number generator to be seeded',
    pattern: /^random: randomdev_wait_until_seeded unblock wait/,
  },
];

// getty's banner `FreeBSD/arm64 (host) (ttyu0)` followed by `login:`; cloud consoles may print the prompt without
// the newline that would follow a typed name.
const LOGIN_BANNER = /^FreeBSD\/(amd64|arm64|i386|riscv) \(.*\) \(tty\w+\)$/;
const LOGIN_PROMPT = /^login:\s*$/;

const EXCERPT_BEFORE = 5;
const EXCERPT_AFTER = 15;
const EXCERPT_TAIL = 20;
const EXCERPT_MAX_CHARS = 4000;

/** Console text as lines: CR, ANSI escapes and other control characters removed. */
export function normaliseConsole(text: string): string[] {
  return text
    .replace(ANSI_ESCAPE, '')
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => withoutControlCharacters(line).trimEnd());
}

// Built from a character code so that the escape character need not appear in a regular expression literal.
const ANSI_ESCAPE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');

function withoutControlCharacters(line: string): string {
  let kept = '';
  for (const char of line) {
    const code = char.charCodeAt(0);
    if (code === 9 || (code >= 32 && code !== 127)) kept += char;
  }
  return kept;
}

/** Classifies a FreeBSD console transcript: login prompt reached, panic, mount-root failure, other failure lines. */
export function classifyConsole(text: string): ConsoleVerdict {
  const lines = normaliseConsole(text);
  const findings: ConsoleFinding[] = [];
  let loginAt = -1;
  lines.forEach((line, index) => {
    for (const rule of RULES) {
      if (rule.pattern.test(line)) {
        findings.push({
          rule: rule.id,
          severity: rule.severity,
          description: rule.description,
          lineNumber: index + 1,
          line,
        });
        break;
      }
    }
    if (loginAt < 0 && LOGIN_PROMPT.test(line) && lines.slice(Math.max(0, index - 3), index).some(isBanner))
      loginAt = index;
  });
  const loginPromptSeen = loginAt >= 0;
  const fatal = findings.find((f) => f.severity === 'fatal');
  if (fatal) {
    const rule = RULES.find((r) => r.id === fatal.rule)!;
    return {
      status: rule.status ?? 'failure',
      reason: `${fatal.description} at console line ${fatal.lineNumber}: ${fatal.line}`,
      loginPromptSeen,
      findings,
      excerpt: excerpt(lines, fatal.lineNumber - 1 - EXCERPT_BEFORE, fatal.lineNumber + EXCERPT_AFTER),
    };
  }
  const delays = findings.filter((f) => f.severity === 'delay');
  if (loginPromptSeen) {
    const note = delays.length
      ? `; delayed by ${[...new Set(delays.map((d) => d.rule))].join(', ')} (first at line ${delays[0]!.lineNumber})`
      : '';
    return { status: 'login', reason: `login prompt at console line ${loginAt + 1}${note}`, loginPromptSeen, findings };
  }
  const last = lastNonEmpty(lines);
  return {
    status: 'incomplete',
    reason: `no login prompt and no known failure line in ${lines.length} console lines`,
    loginPromptSeen,
    findings,
    excerpt: excerpt(lines, last + 1 - EXCERPT_TAIL, last + 1),
  };
}

/** Whether `verdict` fails the boot; an incomplete console only fails when the port never opened either. */
export function consoleFails(verdict: ConsoleVerdict): boolean {
  return verdict.status === 'panic' || verdict.status === 'mount-root-failure' || verdict.status === 'failure';
}

function isBanner(line: string): boolean {
  return LOGIN_BANNER.test(line);
}

function lastNonEmpty(lines: readonly string[]): number {
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]) return i;
  return 0;
}

function excerpt(lines: readonly string[], from: number, to: number): string {
  const text = lines.slice(Math.max(0, from), Math.min(lines.length, to)).join('\n');
  return text.length > EXCERPT_MAX_CHARS ? text.slice(0, EXCERPT_MAX_CHARS) : text;
}
