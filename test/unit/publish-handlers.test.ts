import { EventValidationError } from '../../lambdas/core/errors';
import { handler as announce } from '../../lambdas/publish/announce';
import { handler as discover } from '../../lambdas/publish/discover';
import { handler as finalize } from '../../lambdas/publish/finalize';
import { handler as poll } from '../../lambdas/publish/poll';
import { handler as prepare } from '../../lambdas/publish/prepare';
import { regionOutcomeSchema, regionProgressSchema } from '../../lambdas/publish/shared';

const progress = {
  region: 'eu-west-1',
  images: ['ami-0123456789abcdef0'],
  pollSeconds: 0,
  waitSeconds: 0,
  deadline: '2026-11-27T09:00:00.000Z',
  pending: true,
  copies: [
    { source: 'ami-0123456789abcdef0', name: 'n', imageId: 'ami-0fedcba9876543210', attempt: 1, state: 'copying' },
  ],
};

describe('publish handlers validate their events before any work', () => {
  test.each([
    [
      'discover',
      discover,
      { selection: { regions: ['mars-1'] } },
      /publish-discover received an invalid event: selection.regions.0/,
    ],
    ['prepare', prepare, { region: 'eu-west-1', images: ['i-123'], pollSeconds: 0 }, /images.0: an AMI id looks like/],
    ['poll', poll, { ...progress, waitSeconds: -1 }, /publish-poll received an invalid event: waitSeconds/],
    ['finalize', finalize, { ...progress, copies: [{ ...progress.copies[0], state: 'lost' }] }, /copies.0.state/],
    [
      'announce',
      announce,
      { images: [], outcomes: [{ region: 'eu-west-1' }] },
      /publish-announce received an invalid event/,
    ],
  ])('%s rejects a malformed event with the field that is wrong', async (_name, handler, event, message) => {
    const call = (handler as (e: unknown) => Promise<unknown>)(event);

    await expect(call).rejects.toThrow(EventValidationError);
    await expect(call).rejects.toThrow(message);
  });

  test('accept what the state machine passes between steps, including the failure branch’s outcome', () => {
    expect(regionProgressSchema.safeParse(progress).success).toBe(true);
    expect(
      regionOutcomeSchema.safeParse({ region: 'eu-west-1', status: 'failed', error: '{"errorMessage":"x"}' }).success,
    ).toBe(true);
    expect(
      regionOutcomeSchema.safeParse({ region: 'eu-west-1', status: 'published', published: {}, failed: [], changes: 0 })
        .success,
    ).toBe(true);
  });
});
