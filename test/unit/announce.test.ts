import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { type AnnouncedImage, AnnouncementTooLargeError, renderAnnouncements } from '../../lambdas/core/announce';

const FIXTURES = join(__dirname, '..', 'fixtures', 'freebsd');
const fixture = JSON.parse(readFileSync(join(FIXTURES, 'bsdec2_sns_example.json'), 'utf8'));

function snapshotImage(arch: 'amd64' | 'arm64', flavour: string, regions: Record<string, string>): AnnouncedImage {
  return {
    name: `FreeBSD 15.0-CURRENT-${arch}-20261120 ${flavour} UFS`,
    arch,
    architecture: arch === 'amd64' ? 'x86_64' : 'arm64',
    releaseVersion: '15.0-CURRENT',
    imageVersion: 'main@a1b2c3d4e',
    snapshot: true,
    buildDate: '2026-11-20',
    ssmParameter: `/ami-pipeline/freebsd/${arch}/${flavour}/ufs/15.0/CURRENT`,
    regions,
  };
}

describe('announcement', () => {
  test('carries exactly the uploader’s v1 JSON for the same image', () => {
    const regions: Record<string, string> = {};
    for (const [region, [entry]] of Object.entries(fixture.v1.Regions) as [string, { ImageId: string }[]][]) {
      regions[region] = entry.ImageId;
    }
    const image: AnnouncedImage = {
      name: 'FreeBSD 12.1-STABLE-arm64-2020-04-09',
      arch: 'arm64',
      architecture: 'arm64',
      releaseVersion: '12.1-STABLE',
      imageVersion: 'stable/12@359721',
      snapshot: true,
      buildDate: '2020-04-09',
      regions,
    };

    const [announcement] = renderAnnouncements([image]);

    expect(announcement!.json).toEqual(fixture);
    const message = JSON.parse(announcement!.message);
    expect(JSON.parse(message.default)).toEqual(fixture);
    // Byte for byte the uploader's layout (2-space indent, Name/Architecture/ImageId), regions in name order.
    const sortedRegions = Object.fromEntries(Object.entries(fixture.v1.Regions).sort(([a], [b]) => a.localeCompare(b)));
    expect(message.default).toBe(JSON.stringify({ v1: { ...fixture.v1, Regions: sortedRegions } }, null, 2));
  });

  test('writes a plain-text mail in the snapshot-mail layout with one line per region and the SSM key', () => {
    const images = [
      snapshotImage('amd64', 'base', { 'us-east-1': 'ami-0a', 'eu-west-1': 'ami-0b' }),
      snapshotImage('arm64', 'base', { 'us-east-1': 'ami-0c', 'eu-west-1': 'ami-0d' }),
    ];

    const [announcement] = renderAnnouncements(images, { subjectPrefix: '[ami-pipeline]' });

    expect(announcement!.subject).toBe('[ami-pipeline] New FreeBSD snapshots available: main (20261120 a1b2c3d4e)');
    const text = announcement!.text;
    expect(text).toContain('=== Amazon EC2 AMI Images ===');
    expect(text).toContain('FreeBSD/amd64 EC2 AMIs of "FreeBSD 15.0-CURRENT-amd64-20261120 base UFS" are available');
    expect(text).toContain('FreeBSD/aarch64 EC2 AMIs of "FreeBSD 15.0-CURRENT-arm64-20261120 base UFS" are available');
    expect(text.split('\n').filter((l) => /^ {2}[a-z0-9-]+ region: ami-[0-9a-f]+$/.test(l))).toEqual([
      '  eu-west-1 region: ami-0b',
      '  us-east-1 region: ami-0a',
      '  eu-west-1 region: ami-0d',
      '  us-east-1 region: ami-0c',
    ]);
    expect(text).toContain('\t/ami-pipeline/freebsd/amd64/base/ufs/15.0/CURRENT');
    const message = JSON.parse(announcement!.message);
    expect(message.email).toBe(text);
    expect(JSON.parse(message.default)).toEqual(announcement!.json);
  });

  test('sends one announcement per release version and revision, with the uploader’s subject for releases', () => {
    const release: AnnouncedImage = {
      ...snapshotImage('amd64', 'base', { 'us-east-1': 'ami-0e' }),
      name: 'FreeBSD 14.3-RELEASE-amd64 base UFS',
      releaseVersion: '14.3-RELEASE',
      imageVersion: 'releng/14.3@f00dfeed',
      snapshot: false,
      buildDate: undefined,
    };

    const announcements = renderAnnouncements([snapshotImage('amd64', 'base', { 'us-east-1': 'ami-0a' }), release]);

    expect(announcements.map((a) => a.subject)).toEqual([
      'New 14.3-RELEASE AMIs',
      'New FreeBSD snapshots available: main (20261120 a1b2c3d4e)',
    ]);
  });

  test('lists regions that failed, and leaves out images published nowhere', () => {
    const partial = {
      ...snapshotImage('amd64', 'base', { 'us-east-1': 'ami-0a' }),
      missing: { 'eu-west-1': 'copy timed out' },
    };
    const nowhere = snapshotImage('arm64', 'small', {});

    const announcements = renderAnnouncements([partial, nowhere]);

    expect(announcements).toHaveLength(1);
    expect(announcements[0]!.text).toContain('  eu-west-1 region: copy timed out');
    expect(announcements[0]!.text).not.toContain('small');
  });

  test('keeps subjects under 100 printable ASCII characters', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 60 }), (prefix, version) => {
        const image = { ...snapshotImage('amd64', 'base', { 'us-east-1': 'ami-0a' }), imageVersion: version };
        for (const a of renderAnnouncements([image], { subjectPrefix: prefix })) {
          expect(a.subject.length).toBeLessThan(100);
          expect(a.subject).toMatch(/^[\x20-\x7e]*$/);
        }
      }),
    );
  });

  test('splits into parts under the size limit, each image and region in exactly one part', () => {
    const regionNames = Array.from({ length: 29 }, (_, i) => `xx-region-${i + 1}`);
    const image = fc.record({
      arch: fc.constantFrom('amd64' as const, 'arm64' as const),
      flavour: fc.constantFrom('base', 'cloud-init', 'small', 'builder'),
      regions: fc.subarray(regionNames, { minLength: 1 }),
    });
    fc.assert(
      fc.property(
        fc.array(image, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 6_000, max: 60_000 }),
        (specs, maxBytes) => {
          const images = specs.map((s, i) => ({
            ...snapshotImage(
              s.arch,
              s.flavour,
              Object.fromEntries(s.regions.map((r) => [r, `ami-${i.toString(16).padStart(17, '0')}`])),
            ),
            name: `FreeBSD 15.0-CURRENT-${s.arch}-20261120 ${s.flavour} UFS #${i}`,
          }));
          const announcements = renderAnnouncements(images, { maxBytes });

          const seen: string[] = [];
          for (const a of announcements) {
            expect(a.bytes).toBeLessThanOrEqual(maxBytes);
            expect(a.subject.length).toBeLessThan(100);
            for (const [region, entries] of Object.entries(a.json.v1.Regions)) {
              for (const entry of entries) seen.push(`${entry.Name}|${region}|${entry.ImageId}`);
            }
          }
          const expected = images.flatMap((img) =>
            Object.entries(img.regions).map(([r, id]) => `${img.name}|${r}|${id}`),
          );
          expect(seen.sort()).toEqual(expected.sort());
          if (announcements.length > 1)
            expect(announcements.every((a) => /\(part \d+\/\d+\)$/.test(a.subject))).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
  });

  test('48 images in 29 regions fit SNS’s limit in few messages', () => {
    const regions = Object.fromEntries(
      Array.from({ length: 29 }, (_, i) => [`xx-region-${i + 1}`, 'ami-0123456789abcdef0']),
    );
    const images = Array.from({ length: 48 }, (_, i) => ({
      ...snapshotImage(i % 2 ? 'arm64' : 'amd64', 'base', regions),
      name: `FreeBSD 15.0-CURRENT-amd64-20261120 base UFS #${i}`,
    }));

    const announcements = renderAnnouncements(images);

    expect(announcements.length).toBeLessThanOrEqual(2);
    expect(Math.max(...announcements.map((a) => a.bytes))).toBeLessThan(256 * 1024);
  });

  test('refuses a message size no single image and region fits in', () => {
    expect(() =>
      renderAnnouncements([snapshotImage('amd64', 'base', { 'us-east-1': 'ami-0a' })], { maxBytes: 100 }),
    ).toThrow(AnnouncementTooLargeError);
  });
});
