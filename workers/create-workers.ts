// One worker per task queue: `scheduler` runs the master and maintenance workflows, and each vertical's
// queue runs that vertical's ingestions. Every worker registers every workflow and activity (one bundle,
// built once), so any queue can be scaled by starting more processes with TEDI_WORKER_QUEUES.
//
// Memory (measured, test/bench/worker-memory.bench.ts): webpack, run in this process, left ~90 MB behind
// for the life of the process, and each Worker started its own workflow thread (a V8 isolate holding
// the bundle and its source map, ~40 MB each: 5 queues, 5 threads). So the bundle is built in a
// short-lived child process and loaded from its file, and the workers of one process share one workflow
// thread (SHARED_WORKFLOW_THREADS) and one parsed copy of the bundle.
//
// Compiled code (npm run build, dist/) does not bundle at start: the build runs the same child-process
// bundler once (scripts/build-workflow-bundle.ts) over dist/workflows, the very JavaScript it runs, and
// writes dist/workflow-bundle.js beside it; workflowBundle() loads that file. From the TypeScript sources
// (tsx) there is no such file, and each process bundles in a child as above.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type CompiledWorkerOptions, type NativeConnection, Worker, type WorkflowBundlePath } from '@temporalio/worker';
import type { WorkflowCreator } from '@temporalio/worker/lib/workflow/interface';
import type { WorkflowBundleWithSourceMapAndFilename } from '@temporalio/worker/lib/workflow/workflow-worker-thread/input';
import { type ActivityDeps, createActivities } from '../activities';
import { TASK_QUEUES, type TaskQueue } from '../lib/verticals';
import { makeSpoolDir, sweepOrphanSpoolDirs } from '../sources/kit/spool';
import { attemptFacts } from './attempt-facts';

let bundle: Promise<WorkflowBundlePath> | undefined;

/** Where `npm run build` writes the workflow bundle: beside the compiled workers/ (dist/workflow-bundle.js). */
export const PREBUILT_BUNDLE = path.join(__dirname, '..', 'workflow-bundle.js');

/** True when this module is the compiled JavaScript of dist/, not the TypeScript source run by tsx. */
const RUNNING_COMPILED = path.extname(__filename) === '.js';

/**
 * The workflow bundle every worker (and every replay) of this process loads: the prebuilt one when running
 * compiled code, otherwise bundled once per process, in a child process (webpack's memory goes with it),
 * into a file that lives as long as this process.
 */
export function workflowBundle(): Promise<WorkflowBundlePath> {
  bundle ??= prebuiltOrChild();
  return bundle;
}

function prebuiltOrChild(): Promise<WorkflowBundlePath> {
  if (!RUNNING_COMPILED) return buildBundleInChild();
  if (fs.existsSync(PREBUILT_BUNDLE)) return Promise.resolve({ codePath: PREBUILT_BUNDLE });
  console.warn(`[tedi] ${PREBUILT_BUNDLE} is missing (npm run build writes it): bundling the workflows at start`);
  return buildBundleInChild();
}

// Plain JavaScript run by `node -e`: the child loads no tsx and nothing of TEDI but the bundler, which
// compiles the TypeScript workflows itself. Warnings and errors go to stderr, the rest of webpack's log nowhere.
const BUNDLER_SCRIPT = `
const [workerModule, workflowsPath, out] = process.argv.slice(1);
const { bundleWorkflowCode } = require(workerModule);
const quiet = () => undefined;
const logger = { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: (m) => console.warn(m), error: (m) => console.error(m) };
bundleWorkflowCode({ workflowsPath, logger })
  .then((b) => require('node:fs').writeFileSync(out, b.code))
  .catch((err) => { console.error(err); process.exit(1); });
`;

async function buildBundleInChild(): Promise<WorkflowBundlePath> {
  // A spool folder: named after this process, so a worker killed with SIGKILL leaves one the next start removes.
  const dir = await makeSpoolDir('workflows');
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const codePath = path.join(dir, 'workflow-bundle.js');
  await writeWorkflowBundle(codePath);
  return { codePath };
}

/**
 * Bundles the workflows next to this module (`../workflows`: the TypeScript sources under tsx, dist/workflows
 * when compiled) into `codePath`, in a child process. Also what the build uses for dist/workflow-bundle.js.
 */
export function writeWorkflowBundle(codePath: string): Promise<void> {
  const args = ['-e', BUNDLER_SCRIPT, require.resolve('@temporalio/worker'), require.resolve('../workflows'), codePath];
  return new Promise<void>((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
      if (stderr.trim()) process.stderr.write(stderr);
      if (err) reject(new Error(`bundling the workflow code failed: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}

/**
 * Workflow threads per process, shared by all its workers. Workflow tasks are short (the work is in
 * activities, on the main thread), and each thread costs ~40 MB of RSS (measured: five queues idle at
 * ~195 MB with one thread, ~240 MB with two), so one thread serves every queue of the process, as the
 * SDK's default gives one to each single-queue worker. Raise it if workflow tasks queue behind each other
 * (the SDK's workflow task latency metric shows it).
 */
const SHARED_WORKFLOW_THREADS = 1;

/**
 * A Worker class whose instances share one workflow-thread pool and one parsed bundle (through the SDK's
 * protected factory methods). Every worker of the set registers the same workflows and activities with
 * the same options, so any thread can run any of their workflows (runs are addressed by run id). The
 * threads end when the last worker using them shuts down.
 */
function sharingWorkerClass(): typeof Worker {
  let parsed: Promise<WorkflowBundleWithSourceMapAndFilename | undefined> | undefined;
  let shared: Promise<WorkflowCreator> | undefined;
  let users = 0;
  return class SharedThreadsWorker extends Worker {
    protected static override getOrCreateBundle(
      ...args: Parameters<typeof Worker.getOrCreateBundle>
    ): Promise<WorkflowBundleWithSourceMapAndFilename | undefined> {
      parsed ??= Worker.getOrCreateBundle(...args);
      return parsed;
    }

    protected static override async createWorkflowCreator(
      workflowBundle: WorkflowBundleWithSourceMapAndFilename,
      compiledOptions: CompiledWorkerOptions,
      logger: Parameters<typeof Worker.createWorkflowCreator>[2],
    ): Promise<WorkflowCreator> {
      shared ??= Worker.createWorkflowCreator(workflowBundle, compiledOptions, logger);
      const creator = await shared;
      users++;
      let released = false;
      return {
        createWorkflow: (options) => creator.createWorkflow(options),
        async destroy() {
          if (released) return;
          released = true;
          if (--users > 0) return;
          shared = undefined;
          await creator.destroy();
        },
      };
    }
  };
}

export interface WorkerSetOptions {
  connection: NativeConnection;
  namespace: string;
  deps: ActivityDeps;
  queues?: readonly TaskQueue[];
}

export async function createWorkers(opts: WorkerSetOptions): Promise<Worker[]> {
  // Downloads a killed worker left behind (SIGKILL runs no cleanup) go before new ones start.
  for (const dir of sweepOrphanSpoolDirs()) console.warn(`[tedi] removed the orphaned spool folder ${dir}`);
  const activities = createActivities(opts.deps);
  const workflows = await workflowBundle();
  const queues = opts.queues ?? TASK_QUEUES;
  const SharedThreadsWorker = sharingWorkerClass();
  return Promise.all(
    queues.map((taskQueue) =>
      SharedThreadsWorker.create({
        connection: opts.connection,
        namespace: opts.namespace,
        taskQueue,
        workflowBundle: workflows,
        activities,
        // Each failure records its attempt, for the memo of a failed run (attempt-facts.ts).
        interceptors: { activity: [attemptFacts] },
        // Ingestions stream large bodies; a handful at once per process keeps memory predictable.
        maxConcurrentActivityTaskExecutions: taskQueue === 'scheduler' ? 20 : 4,
        // One pool for the whole set (see SHARED_WORKFLOW_THREADS); identical on every worker of the set.
        workflowThreadPoolSize: SHARED_WORKFLOW_THREADS,
      }),
    ),
  );
}

/** Runs workers until `stop` resolves (or a worker fails), then shuts all of them down. */
export async function runWorkers(workers: Worker[], stop: Promise<unknown>): Promise<void> {
  void stop.then(() => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  });
  await Promise.all(workers.map((w) => w.run()));
}
