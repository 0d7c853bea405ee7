import { EventValidationError } from '../../lambdas/core/errors';
import { handler as announce } from '../../lambdas/publish/announce';
import { handler as discover } from '../../lambdas/publish/discover';
import { handler as finalize } from '../../lambdas/publish/finalize';
import { handler as poll } from '../../lambdas/publish/poll';
import { handler as prepare } from '../../lambdas/publish/prepare';
import {
  finalizeResultSchema,
  regionOutcomeSchema,
  regionProgressSchema,
  regionSummarySchema,
} from '../../lambdas/publish/shared';
import { handler as verify } from '../../lambdas/publish/verify';

const progress = {
  region: 'eu-west-1',
  runId: 'weekly-2026-11-21',
  images: ['ami-0123456789abcdef0'],
  pollSeconds: 0,
  waitSeconds: 0,
  polls: 0,
  endsAt: '2026-11-27T09:00:00.000Z',
  pending: true,
  copies: [
    {
      source: 'ami-0123456789abcdef0',
      name: 'n',
      imageId: 'ami-0fedcba9876543210',
      attempt: 1,
      state: 'copying',
      startedAt: '2026-11-27T06:00:00.000Z',
    },
  ],
};
const summary = { region: 'eu-west-1', status: 'published', pairs: 1, published: 1, failed: 0, changes: 5 };

describe('publish handlers validate their events before any work', () => {
  test.each([
    [
      'discover',
      discover,
      { start: { selection: { regions: ['mars-1'] } }, runId: 'r' },
      /publish-discover received an invalid event: start.selection.regions.0/,
    ],
    [
      'prepare',
      prepare,
      { region: 'eu-west-1', images: ['i-123'], pollSeconds: 0, runId: 'r' },
      /images.0: an AMI id looks like/,
    ],
    ['prepare without a run', prepare, { region: 'eu-west-1', images: [], pollSeconds: 0 }, /runId/],
    ['poll', poll, { ...progress, waitSeconds: -1 }, /publish-poll received an invalid event: waitSeconds/],
    ['finalize', finalize, { ...progress, copies: [{ ...progress.copies[0], state: 'lost' }] }, /copies.0.state/],
    ['verify', verify, { region: 'eu-west-1', summary: { ...summary, pairs: -1 } }, /summary.pairs/],
    [
      'announce',
      announce,
      { runId: 'r', regions: [], images: [], outcomes: [{ region: 'eu-west-1' }] },
      /publish-announce received an invalid event/,
    ],
  ])('%s rejects a malformed event with the field that is wrong', async (_name, handler, event, message) => {
    const call = (handler as (e: unknown) => Promise<unknown>)(event);

    await expect(call).rejects.toThrow(EventValidationError);
    await expect(call).rejects.toThrow(message);
  });

  test('accept what the state machine passes between steps, including the failure branch’s outcome', () => {
    expect(regionProgressSchema.safeParse(progress).success).toBe(true);
    expect(regionSummarySchema.safeParse(summary).success).toBe(true);
    expect(finalizeResultSchema.safeParse({ region: 'eu-west-1', summary }).success).toBe(true);
    expect(
      regionOutcomeSchema.safeParse({ region: 'eu-west-1', status: 'failed', error: '{"errorMessage":"x"}' }).success,
    ).toBe(true);
    expect(regionOutcomeSchema.safeParse(summary).success).toBe(true);
  });
});
