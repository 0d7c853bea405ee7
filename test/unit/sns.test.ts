import fc from 'fast-check';
import { MAX_SNS_SUBJECT, snsSubject } from '../../lambdas/core/sns';

describe('SNS subjects', () => {
  test('a subject of exactly 100 characters is cut, since SNS wants fewer than 100', () => {
    const subject = snsSubject('x'.repeat(100));

    expect(subject).toHaveLength(MAX_SNS_SUBJECT);
    expect(subject.endsWith('...')).toBe(true);
  });

  test('whatever the text, the subject is one line of printable ASCII under 100 characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        const subject = snsSubject(text);
        expect(subject.length).toBeLessThan(100);
        expect(subject).toMatch(/^[\x20-\x7e]*$/);
      }),
    );
  });

  test('a short subject is kept as it is', () => {
    expect(snsSubject('[FreeBSD EC2] boot time regression')).toBe('[FreeBSD EC2] boot time regression');
  });
});
