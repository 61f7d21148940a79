// Every activity failure says which attempt it was: the workflow cannot see attempt numbers (an activity
// failure carries none), so the memo of a failed run could only guess how many times the source was tried.
// The number goes into the failure's facts (lib/failures.ts), next to the root cause the HTTP client put there.
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { stampAttempt } from '../lib/failures';

export const attemptFacts: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      try {
        return await next(input);
      } catch (err) {
        if (err instanceof ApplicationFailure) stampAttempt(err, ctx.info.attempt);
        throw err;
      }
    },
  },
});
