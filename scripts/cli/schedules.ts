// `tedi schedules ...`: TEDI's Temporal schedules (master, log cleanup, reliability scores). `ensure`
// creates or updates them keeping an operator's pause; the others act on one schedule (the master
// unless --schedule names another) or, for `describe`, on all of them.
import type { Client, ScheduleDescription, ScheduleHandle, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Command } from 'commander';
import { z } from 'zod';
import type { AppConfig } from '../../lib/config';
import type { ScheduleSettings } from '../../operations/temporal/schedules';
import { MASTER_SCHEDULE_ID } from '../../workflows/ids';
import { isoTime, jsonFlag } from './args';
import { withTemporal } from './context';
import { UsageError, validateArgs } from './errors';
import { formatDuration, formatTime, JSON_HELP, printJson, renderFields } from './output';

const OVERLAP_POLICIES = [
  'SKIP',
  'BUFFER_ONE',
  'BUFFER_ALL',
  'CANCEL_OTHER',
  'TERMINATE_OTHER',
  'ALLOW_ALL',
] as const satisfies readonly ScheduleOverlapPolicy[];

// Loaded on use: it brings the Temporal client (see context.ts).
const scheduling = () => import('../../operations/temporal/schedules.js');

function settingsOf(config: AppConfig): ScheduleSettings {
  return {
    masterInterval: config.TEDI_MASTER_INTERVAL,
    firstRunAtCreation: config.TEDI_MASTER_FIRST_RUN === 'at-creation',
    logRetentionDays: config.TEDI_LOG_RETENTION_DAYS,
    maxChildrenInFlight: config.TEDI_MAX_CHILDREN_IN_FLIGHT,
  };
}

const anySchedule = z.string().regex(/^[A-Za-z0-9._-]+$/, `must be a schedule id such as ${MASTER_SCHEDULE_ID}`);
const scheduleId = anySchedule.default(MASTER_SCHEDULE_ID);
const overlap = z
  .string()
  .transform((s) => s.toUpperCase().replace(/-/g, '_'))
  .pipe(z.enum(OVERLAP_POLICIES, { error: `must be one of ${OVERLAP_POLICIES.join(', ').toLowerCase()}` }))
  .optional();

/** A schedule as an operator reads it; --json prints exactly this. */
function scheduleView(id: string, d: ScheduleDescription) {
  const action = d.action.type === 'startWorkflow' ? d.action : null;
  return {
    scheduleId: id,
    paused: d.state.paused,
    note: d.state.note ?? null,
    spec: {
      intervals: (d.spec.intervals ?? []).map((i) => ({ everyMs: i.every, offsetMs: i.offset })),
      calendars: (d.spec.calendars ?? []).map((c) => c.comment ?? JSON.stringify({ hour: c.hour, minute: c.minute })),
      timezone: d.spec.timezone || 'UTC',
    },
    action: action && {
      workflowType: action.workflowType,
      workflowId: action.workflowId,
      taskQueue: action.taskQueue,
    },
    policies: d.policies,
    nextRunTimes: d.info.nextActionTimes.slice(0, 3),
    recentActions: d.info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt,
      takenAt: a.takenAt,
      workflowId: a.action.workflow.workflowId,
      runId: a.action.workflow.firstExecutionRunId,
    })),
    running: d.info.runningActions.map((a) => a.workflow.workflowId),
    counts: {
      actionsTaken: d.info.numActionsTaken,
      missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
      skippedOverlap: d.info.numActionsSkippedOverlap,
    },
  };
}
type ScheduleView = ReturnType<typeof scheduleView>;

function renderSchedule(v: ScheduleView): string {
  const spec = [
    ...v.spec.intervals.map(
      (i) => `every ${formatDuration(i.everyMs)}${i.offsetMs ? ` + ${formatDuration(i.offsetMs)}` : ''}`,
    ),
    ...v.spec.calendars,
  ].join('; ');
  // Oldest first, as Temporal lists them; the last five are what an operator checks after a trigger.
  const recent = v.recentActions.slice(-5).map((a) => `    ${formatTime(a.scheduledAt)}  ${a.workflowId}`);
  return [
    `${v.scheduleId}: ${v.paused ? `PAUSED${v.note ? ` (${v.note})` : ''}` : 'active'}`,
    renderFields([
      // Calendars here are written in UTC; only another zone needs saying.
      ['spec', v.spec.timezone === 'UTC' ? spec : `${spec} (time zone ${v.spec.timezone})`],
      ['action', v.action ? `${v.action.workflowType} on ${v.action.taskQueue} (id ${v.action.workflowId})` : null],
      [
        'policies',
        `overlap ${v.policies.overlap}, catch-up window ${formatDuration(v.policies.catchupWindow)}, ` +
          `pause on failure ${v.policies.pauseOnFailure ? 'yes' : 'no'}`,
      ],
      ['next runs', v.nextRunTimes.map(formatTime).join(', ') || 'none'],
      ['running', v.running.join(', ') || 'none'],
      [
        'counts',
        `${v.counts.actionsTaken} taken, ${v.counts.missedCatchupWindow} missed the catch-up window, ` +
          `${v.counts.skippedOverlap} skipped (overlap)`,
      ],
      ['recent', recent.length ? '(scheduled time, workflow id; newest last)' : 'none'],
    ]),
    ...recent,
  ].join('\n');
}

/** Runs `fn` on the schedule's handle; a schedule that does not exist is a usage error listing those that do. */
async function onSchedule<T>(client: Client, id: string, fn: (h: ScheduleHandle) => Promise<T>): Promise<T> {
  try {
    return await fn(client.schedule.getHandle(id));
  } catch (err) {
    const { ScheduleNotFoundError } = await import('@temporalio/client');
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    const ids: string[] = [];
    for await (const s of client.schedule.list()) ids.push(s.scheduleId);
    throw new UsageError(
      `--schedule: no schedule "${id}". Schedules: ${ids.sort().join(', ') || 'none (run `npm run tedi -- schedules ensure`)'}`,
    );
  }
}

export function registerSchedules(program: Command): void {
  const schedules = program
    .command('schedules')
    .description("manage TEDI's Temporal schedules: ensure, describe, pause, unpause, trigger, backfill");

  schedules
    .command('ensure')
    .description('create the schedules, or update their spec/action/policies keeping any pause and note')
    .option('--json', JSON_HELP)
    .action(async (opts) => {
      const args = validateArgs(z.object({ json: jsonFlag }), opts);
      await withTemporal(async ({ client, connection }, config) => {
        const { ensureSearchAttributes } = await import('../../operations/temporal/search-attributes-admin.js');
        await ensureSearchAttributes(connection, config.TEMPORAL_NAMESPACE);
        const outcomes = await (await scheduling()).ensureSchedules(client, settingsOf(config));
        const views = [];
        for (const [id, outcome] of Object.entries(outcomes)) {
          views.push({ outcome, ...scheduleView(id, await client.schedule.getHandle(id).describe()) });
        }
        if (args.json) return printJson(views);
        for (const v of views) {
          const next = v.nextRunTimes.map(formatTime).join(', ');
          console.log(`${v.scheduleId}: ${v.outcome}${v.paused ? ' (paused)' : ''}; next runs ${next}`);
        }
      });
    });

  schedules
    .command('describe')
    .description('spec, state, next 3 run times, recent actions, missed catch-up and overlap-skipped counts')
    .option('--schedule <id>', 'only this schedule (default: all of TEDI’s)')
    .option('--json', JSON_HELP)
    .action(async (opts) => {
      const args = validateArgs(z.object({ schedule: anySchedule.optional(), json: jsonFlag }), opts);
      await withTemporal(async ({ client }, config) => {
        const desired = args.schedule ? [] : (await scheduling()).desiredSchedules(settingsOf(config));
        const ids = args.schedule ? [args.schedule] : desired.map((s) => s.scheduleId);
        const views = [];
        for (const id of ids) views.push(scheduleView(id, await onSchedule(client, id, (h) => h.describe())));
        if (args.json) return printJson(views);
        console.log(views.map(renderSchedule).join('\n\n'));
      });
    });

  for (const [verb, pausing] of [
    ['pause', true],
    ['unpause', false],
  ] as const) {
    const defaultNote = `${verb}d via tedi CLI`;
    schedules
      .command(verb)
      .description(pausing ? 'pause a schedule (its runs stop until unpaused)' : 'unpause a schedule')
      .option('--schedule <id>', `the schedule (default: ${MASTER_SCHEDULE_ID})`)
      .option('--note <text>', `why, shown in describe and the Web UI (default: "${defaultNote}")`)
      .option('--json', JSON_HELP)
      .action(async (opts) => {
        const args = validateArgs(
          z.object({
            schedule: scheduleId,
            note: z
              .string()
              .trim()
              .min(1, 'needs text, e.g. --note "upstream maintenance"')
              .max(1000)
              .default(defaultNote),
            json: jsonFlag,
          }),
          opts,
        );
        await withTemporal(async ({ client }) => {
          const d = await onSchedule(client, args.schedule, async (h) => {
            await (pausing ? h.pause(args.note) : h.unpause(args.note));
            return h.describe();
          });
          if (args.json) return printJson(scheduleView(args.schedule, d));
          console.log(`${args.schedule}: ${d.state.paused ? 'paused' : 'active'} (${d.state.note ?? args.note})`);
        });
      });
  }

  schedules
    .command('trigger')
    .description('start a schedule’s action now, as if it were due')
    .option('--schedule <id>', `the schedule (default: ${MASTER_SCHEDULE_ID})`)
    .option(
      '--overlap <policy>',
      `overlap policy for this run (default: the schedule's): ${OVERLAP_POLICIES.join(', ').toLowerCase()}`,
    )
    .option('--json', JSON_HELP)
    .action(async (opts) => {
      const args = validateArgs(z.object({ schedule: scheduleId, overlap, json: jsonFlag }), opts);
      await withTemporal(async ({ client }) => {
        await onSchedule(client, args.schedule, (h) => h.trigger(args.overlap));
        if (args.json) return printJson({ scheduleId: args.schedule, triggered: true });
        console.log(
          `${args.schedule}: triggered (see \`npm run tedi -- schedules describe --schedule ${args.schedule}\`)`,
        );
      });
    });

  schedules
    .command('backfill')
    .description('run a schedule for every time it would have fired in [--from, --to)')
    .requiredOption('--from <time>', 'start, ISO date or time (UTC unless it has an offset), e.g. 2026-01-01')
    .requiredOption('--to <time>', 'end, after --from, e.g. 2026-01-08T00:00:00Z')
    .option('--schedule <id>', `the schedule (default: ${MASTER_SCHEDULE_ID})`)
    .option(
      '--overlap <policy>',
      `overlap policy for the backfilled runs: ${OVERLAP_POLICIES.join(', ').toLowerCase()} (default: skip, ` +
        'so a run still going skips the next; buffer_all runs every one in turn)',
    )
    .option('--json', JSON_HELP)
    .action(async (opts) => {
      const args = validateArgs(
        z
          .object({ schedule: scheduleId, from: isoTime, to: isoTime, overlap, json: jsonFlag })
          .refine((a) => a.from.getTime() < a.to.getTime(), { path: ['from'], message: 'must be before --to' }),
        opts,
      );
      await withTemporal(async ({ client }) => {
        await onSchedule(client, args.schedule, (h) =>
          h.backfill({ start: args.from, end: args.to, overlap: args.overlap }),
        );
        const done = { scheduleId: args.schedule, from: args.from, to: args.to, overlap: args.overlap ?? 'SKIP' };
        if (args.json) return printJson(done);
        console.log(
          `${args.schedule}: backfill requested for ${args.from.toISOString()} to ${args.to.toISOString()} (overlap ${done.overlap})`,
        );
      });
    });
}
