// The production build (npm run build): the real compile (tsconfig.build.json) and workflow-bundle step,
// into a folder of its own under the project (so a dist/ in use is left alone, and the compiled lib/paths.ts
// still finds the project root above it), then the compiled JavaScript run with plain node, no tsx: the CLI
// answers --help; the compiled migrate job finds prisma/migrations and the catalog YAML; the compiled read
// API renders the status page's Eta templates and serves its script; the compiled workers load the
// prebuilt bundle; and that bundle replays the recorded workflow histories.
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Worker } from '@temporalio/worker';
import { freePort } from '../../lib/infra/postgres';
import { startTestDatabase, type TestDatabase } from '../helpers/database';

const ROOT = path.resolve(__dirname, '..', '..');
const run = promisify(execFile);
let out: string;

before(() => {
  // The same two steps as `npm run build`, with --outDir pointing here instead of dist/.
  const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts as Record<
    string,
    string
  >;
  assert.match(scripts.build ?? '', /tsc -p tsconfig\.build\.json && node dist\/scripts\/build-workflow-bundle\.js/);
  fs.mkdirSync(path.join(ROOT, '.data'), { recursive: true });
  out = fs.mkdtempSync(path.join(ROOT, '.data', 'build-test-'));
  const tsc = spawnSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  assert.equal(tsc.status, 0, `the build does not compile:\n${tsc.stdout}${tsc.stderr}`);
  const bundle = spawnSync(process.execPath, [path.join(out, 'scripts', 'build-workflow-bundle.js')], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(bundle.status, 0, `the workflow bundle step failed:\n${bundle.stdout}${bundle.stderr}`);
});

after(() => {
  if (out) fs.rmSync(out, { recursive: true, force: true });
});

/** `node <out>/<file> ...args` from the project root, with `env` added to this process's environment. */
function node(file: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
  return run(process.execPath, [path.join(out, file), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
}

test('the build emits the entry points and the workflow bundle, and no test code', () => {
  for (const file of [
    'workers/main.js',
    'scripts/tedi.js',
    'scripts/migrate.js',
    'scripts/api.js',
    'workflow-bundle.js',
  ]) {
    assert.ok(fs.existsSync(path.join(out, file)), `${file} missing from the build`);
  }
  assert.ok(!fs.existsSync(path.join(out, 'test')));
  // tsx maps .ts files; a compiled .js must not require one.
  const main = fs.readFileSync(path.join(out, 'workers', 'main.js'), 'utf8');
  assert.doesNotMatch(main, /\.ts['"]/);
});

test('the compiled CLI answers --help', async () => {
  const { stdout } = await node('scripts/tedi.js', ['--help']);
  assert.match(stdout, /^Usage: tedi <command>/);
  assert.match(stdout, /schedules/);
});

test('compiled code finds the project root, not the build folder', async () => {
  const script = `const p = require(${JSON.stringify(path.join(out, 'lib', 'paths.js'))}); console.log(p.PROJECT_ROOT)`;
  const { stdout } = await run(process.execPath, ['-e', script], { cwd: '/' });
  assert.equal(stdout.trim(), ROOT);
});

test('the compiled workers load the prebuilt workflow bundle', async () => {
  const script =
    `require(${JSON.stringify(path.join(out, 'workers', 'create-workers.js'))}).workflowBundle()` +
    '.then((b) => { console.log(b.codePath); process.exit(0); })';
  const { stdout, stderr } = await run(process.execPath, ['-e', script], { cwd: ROOT });
  assert.equal(stdout.trim(), path.join(out, 'workflow-bundle.js'));
  assert.equal(stderr, '');
});

test('the prebuilt bundle replays the recorded histories', async () => {
  const dir = path.join(ROOT, 'test', 'histories');
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const history = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: path.join(out, 'workflow-bundle.js') } },
      history,
      file.replace('.json', ''),
    );
  }
});

test('on a database: compiled migrate finds the migrations and the catalog; the compiled API renders the status page', async () => {
  let database: TestDatabase | undefined;
  let api: ReturnType<typeof spawn> | undefined;
  try {
    database = await startTestDatabase();
    const migrations = fs.readdirSync(path.join(ROOT, 'prisma', 'migrations'), { withFileTypes: true });
    const count = migrations.filter((d) => d.isDirectory()).length;
    // The test database is migrated already: every local migration must be found and match what was applied.
    const { stdout } = await node('scripts/migrate.js', [], {
      DATABASE_URL: database.url,
      TEDI_SECRET_KEY: 'b'.repeat(64),
      TEDI_WB_COUNTRIES: 'BJ',
    });
    assert.match(stdout, new RegExp(`Database is up to date \\(${count} migrations applied before\\)`));
    assert.match(stdout, /Catalog loaded: \d+ sources\./);

    const port = await freePort();
    api = spawn(process.execPath, [path.join(out, 'scripts', 'api.js')], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: database.url, TEDI_API_HOST: '127.0.0.1', TEDI_API_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const child = api;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the compiled API did not start:\n${log}`)), 30_000);
      const seen = (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('status page:')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', seen);
      child.stderr?.on('data', seen);
      child.once('exit', (code) => reject(new Error(`the compiled API exited (${code}):\n${log}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    const page = await fetch(`${base}/status`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    const script = await fetch(`${base}/status/assets/series-chart.js`);
    assert.equal(script.status, 200);
    assert.equal(
      await script.text(),
      fs.readFileSync(path.join(ROOT, 'api', 'status', 'assets', 'series-chart.js'), 'utf8'),
    );
    const sources = await fetch(`${base}/v1/sources`);
    assert.equal(sources.status, 200);
  } finally {
    if (api && api.exitCode === null) {
      const exited = new Promise((r) => api?.once('exit', r));
      api.kill('SIGTERM');
      await exited;
    }
    await database?.stop();
  }
});
