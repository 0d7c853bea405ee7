import { renderBootTimePlot } from '../../lambdas/core/plot';

const weeks = ['2026-10-08', '2026-10-15', '2026-10-22', '2026-10-29', '2026-11-05'];

describe('boot-time plot', () => {
  test('draws one line per series and type, labels them, and rings regressions', () => {
    const svg = renderBootTimePlot(
      [
        {
          label: '15.0-CURRENT amd64 base/ufs c7i.large',
          points: weeks.map((date, i) => ({ date, seconds: i < 3 ? 11 : 23, regression: i === 3 })),
        },
        { label: '15.0-CURRENT arm64 base/ufs c7g.large', points: weeks.map((date) => ({ date, seconds: 8 })) },
      ],
      { title: 'Boot time to sshd, 15.0-CURRENT' },
    );

    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg).toContain('15.0-CURRENT amd64 base/ufs c7i.large 2026-10-29: 23.0 s');
    expect(svg.match(/stroke="#d62728"/g)).toHaveLength(1);
    expect(svg).toContain('>2026-10-08</text>');
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });

  test('escapes labels and says so when there is nothing to draw', () => {
    const svg = renderBootTimePlot([], { title: 'a <b> & "c"' });

    expect(svg).toContain('a &#60;b&#62; &#38; &#34;c&#34;');
    expect(svg).toContain('no boot results yet');
  });
});
