/** SNS refuses a subject of 100 characters or more, or one with characters outside printable ASCII. */
export const MAX_SNS_SUBJECT = 99;

/** `text` as SNS accepts it for a subject: printable ASCII, one line, fewer than 100 characters. */
export function snsSubject(text: string): string {
  const ascii = text.replace(/[\r\n\t]+/g, ' ').replace(/[^\x20-\x7e]/g, '?');
  return ascii.length <= MAX_SNS_SUBJECT ? ascii : `${ascii.slice(0, MAX_SNS_SUBJECT - 3)}...`;
}
