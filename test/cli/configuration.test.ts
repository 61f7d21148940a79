// Configuration without SQL (#11), on real servers: the CLI as a child process against PostgreSQL (the
// catalog loaded as start-up loads it) and a Temporal dev server with all workers. `sources set`,
// `activate`/`deactivate` and their audit rows; the catalog reload keeping what the CLI set; `db-url`;
// `logs show`; tables cut to a terminal's width (under a real pseudo-terminal) and never when piped;
// `trigger`/`import` refusing what cannot work (exit 2, no run, no breaker count); and the workflow side:
// a run failed by its own input (BadRunInput) leaves the breaker alone, a bad stored configuration counts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { loadCatalog } from '../../catalog/load';
import { FailureType } from '../../lib/failures';
import { freePort } from '../../lib/infra/postgres';
import { MIN_COLUMN_WIDTH, renderTable } from '../../scripts/cli/output';
import { checkActivation, planSettings } from '../../scripts/cli/source-settings';
import { type CliRun, runTedi, tediOk } from '../helpers/cli';
import { type Harness, harnessCliEnv, startHarness } from '../helpers/harness';
import { logsOf, runIngestion, versionOf } from '../helpers/ingest';

const ROOT = path.resolve(__dirname, '../..');
const SURVEY = 'agriculture_local_surveys';
const HEADER = 'indicator,department,commune,crop,campaign,value,unit,survey';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-config-cli-'));
const me = os.userInfo().username;

let h: Harness;
let env: NodeJS.ProcessEnv;

before(async () => {
  h = await startHarness();
  // The catalog the CLI reads (sources show, activate) resolves the World Bank URL as the harness loaded it.
  env = { ...harnessCliEnv(h), TEDI_WORLD_BANK_BASE_URL: `${h.fixture.url}/v2` };
});
after(async () => {
  await h?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const tedi = (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<CliRun> =>
  runTedi(args, { env: { ...env, ...extra }, timeoutMs: 60_000 });
const ok = (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<CliRun> =>
  tediOk(args, { env: { ...env, ...extra }, timeoutMs: 60_000 });

function usage(run: CliRun, pattern: RegExp): void {
  assert.equal(run.code, 2, `expected exit 2 (usage), got ${run.code}:\n${run.stderr}`);
  assert.match(run.stderr, pattern);
}

const source = (name: string) =>
  h.db.prisma.dataSource.findUniqueOrThrow({ where: { name }, include: { config: true } });
const changesOf = async (name: string) =>
  h.db.prisma.configChange.findMany({ where: { dataSource: { name } }, orderBy: { id: 'asc' } });

describe('sources set', () => {
  test('params: a list, a number; written with one audit row per key (who, when, old → new, command)', async () => {
    const before = await source('world_bank_agriculture');
    const run = await ok(['sources', 'set', 'world_bank_agriculture', 'countries=BJ,TG', 'perPage=500']);
    assert.match(run.stdout, /countries: \["BJ"\] → \["BJ","TG"\]; perPage: \(default\) → 500/);
    const after = await source('world_bank_agriculture');
    assert.deepEqual(after.params, { ...(before.params as object), countries: ['BJ', 'TG'], perPage: 500 });
    const rows = await changesOf('world_bank_agriculture');
    assert.deepEqual(
      rows.map((r) => [r.key, r.oldValue, r.newValue, r.changedBy, r.host]),
      [
        ['countries', ['BJ'], ['BJ', 'TG'], me, os.hostname()],
        ['perPage', null, 500, me, os.hostname()],
      ],
    );
    assert.equal(rows[0]!.command, 'sources set world_bank_agriculture countries=BJ,TG perPage=500');
    assert.ok(Date.now() - rows[0]!.changedAt.getTime() < 60_000);
    // The same values again change nothing and record nothing.
    const again = await ok(['sources', 'set', 'world_bank_agriculture', 'countries=BJ,TG']);
    assert.match(again.stdout, /no change/);
    assert.equal((await changesOf('world_bank_agriculture')).length, 2);
  });

  test('configuration columns, typed; key= removes a params key; works while Temporal is down', async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    await ok(
      [
        'sources',
        'set',
        'world_bank_employment',
        'rate_limit_per_second=2.5',
        'timeout_ms=120000',
        'max_retries=20', // the bound prepareSource enforces: accepted
        'max_body_bytes=1048576',
        'allow_empty_snapshot=true',
        'max_removed_ratio=1', // the whole range of a share: accepted
        'dateRange=2000:2020',
      ],
      { TEMPORAL_ADDRESS: closed },
    );
    const s = await source('world_bank_employment');
    assert.equal(s.config?.rateLimitPerSecond, 2.5);
    assert.equal(s.config?.timeoutMs, 120_000);
    assert.equal(s.config?.maxRetries, 20);
    assert.equal(s.config?.maxBodyBytes, 1_048_576n);
    assert.equal(s.config?.allowEmptySnapshot, true);
    assert.equal(s.config?.maxRemovedRatio, 1);
    assert.equal((s.params as { dateRange?: string }).dateRange, '2000:2020');
    await ok(['sources', 'set', 'world_bank_employment', 'dateRange=']);
    // A URL's password is masked in the output and the audit row, and written to the column as given.
    const secretUrl = 'https://tedi:s3cret-pw@mirror.example.org/v2';
    const withPassword = await ok(['sources', 'set', 'world_bank_employment', `base_url=${secretUrl}`]);
    assert.doesNotMatch(withPassword.stdout + withPassword.stderr, /s3cret-pw/);
    assert.match(withPassword.stdout, /base_url: ".*" → "https:\/\/tedi:\*\*\*@mirror\.example\.org\/v2"/);
    assert.equal((await source('world_bank_employment')).config?.baseUrl, secretUrl);
    const audit = (await changesOf('world_bank_employment')).at(-1)!;
    assert.equal(audit.newValue, 'https://tedi:***@mirror.example.org/v2');
    assert.doesNotMatch(audit.command, /s3cret-pw/);
    assert.equal(Object.hasOwn((await source('world_bank_employment')).params as object, 'dateRange'), false);
    const keys = (await changesOf('world_bank_employment')).map((r) => r.key);
    assert.deepEqual(keys, [
      'rate_limit_per_second',
      'timeout_ms',
      'max_retries',
      'max_body_bytes',
      'allow_empty_snapshot',
      'max_removed_ratio',
      'dateRange',
      'dateRange',
      'base_url',
    ]);
  });

  test('bad input exits 2 naming the key and the fix, and changes nothing', async () => {
    const before = await source('world_bank_business');
    const cases: [string[], RegExp][] = [
      [
        ['nope=1'],
        /nope: not a setting of world_bank_business: its params \(world-bank connector\) are indicators, countries, dateRange, perPage; its configuration columns are base_url, rate_limit_per_second/,
      ],
      [['countries=BJ,X1'], /countries: use ISO 3166 alpha-2 or alpha-3 codes such as "BJ"/],
      [['perPage=many'], /perPage must be a number, e.g. 1000/],
      [['max_retries=21'], /max_retries: "21" must be a whole number from 0 to 20/],
      [['max_removed_ratio=1.01'], /max_removed_ratio: "1.01" must be a share of the current rows from 0 to 1/],
      [['rate_limit_per_second=0'], /rate_limit_per_second: "0" must be above 0 requests per second/],
      [['base_url=ftp://x'], /base_url: "ftp:\/\/x" must be an http:\/\/, https:\/\/ or file:\/\/ URL/],
      [['auth_type=api_key'], /auth_type is api_key but data_source_configs\.api_key_param is empty/],
      [['countries'], /"countries" is not key=value: write e\.g\. countries=BJ,TG/],
      [['perPage=5', 'perPage=6'], /perPage: given twice/],
      [[], /missing required argument 'key=value'/],
    ];
    for (const [assignments, pattern] of cases) {
      usage(await tedi(['sources', 'set', 'world_bank_business', ...assignments]), pattern);
    }
    usage(await tedi(['sources', 'set', 'no_such_source', 'a=1']), /<source>: no source named "no_such_source"/);
    const after = await source('world_bank_business');
    assert.deepEqual(after.params, before.params);
    assert.deepEqual(after.config, before.config);
    assert.equal((await changesOf('world_bank_business')).length, 0);
  });

  test('the connector schema decides: messages of every kind of params value, in process', async () => {
    const s = await source('world_bank_business');
    assert.throws(() => planSettings(s, ['indicators=']), /indicators is required: give a list of indicator codes/);
    assert.throws(() => planSettings(s, ['indicators=[]']), /indicators is empty: list at least one/);
    assert.throws(() => planSettings(s, ['countries=[1']), /countries: \[1 is not valid JSON/);
    assert.throws(() => planSettings(s, ['dateRange=2020:2000']), /dateRange ends before it starts/);
    const plan = planSettings(s, ['countries=["bj","tg"]', 'perPage=32500']);
    assert.deepEqual(plan.params?.countries, ['bj', 'tg']);
    assert.throws(() => planSettings(s, ['perPage=32501']), /perPage must be at most 32500/);
    // A JSON-only field (tabular columns) says to give JSON.
    const survey = await source(SURVEY);
    assert.throws(() => planSettings(survey, ['columns=commune']), /columns: give it as JSON/);
    assert.throws(() => planSettings(survey, ['delimiter=;;']), /delimiter is one character such as "," or ";"/);
    // A rule across fields is the connector's too: a sheet is for xlsx files.
    assert.throws(
      () => planSettings(survey, ['format=csv', 'sheet=Parcels']),
      /sheet applies to xlsx files, but format is "csv": remove it or fix format/,
    );
  });
});

test('the auth columns are checked together when one of them changes, and hold up nothing else', async () => {
  const s = await source('world_bank_business');
  // As if the column had been broken by SQL: api_key without the name of its header.
  const broken = { ...s, config: { ...s.config!, authType: 'api_key' as const, apiKeyParam: null } };
  assert.deepEqual(planSettings(broken, ['perPage=10']).params?.perPage, 10);
  assert.throws(() => planSettings(broken, ['api_key_in=query']), /api_key_param is empty/);
  assert.deepEqual(planSettings(broken, ['api_key_param=X-Api-Key']).config, { apiKeyParam: 'X-Api-Key' });
  assert.throws(() => planSettings(broken, ['api_key_param=bad name']), /is not a valid header name/);
});

describe('sources activate / deactivate', () => {
  test('deactivate and activate are recorded; activating a scheduled file source needs its feed', async () => {
    const run = await ok(['sources', 'deactivate', 'world_bank_business']);
    assert.match(run.stdout, /is_active: true → false \(recorded in config_changes\)/);
    assert.equal((await source('world_bank_business')).isActive, false);
    assert.match((await ok(['sources', 'deactivate', 'world_bank_business'])).stdout, /no change/);
    await ok(['sources', 'activate', 'world_bank_business']);
    assert.equal((await source('world_bank_business')).isActive, true);
    assert.deepEqual(
      (await changesOf('world_bank_business')).map((r) => [r.key, r.oldValue, r.newValue]),
      [
        ['is_active', true, false],
        ['is_active', false, true],
      ],
    );

    // cadastre: quarterly, tabular, no feedUrl in the catalog, inactive.
    usage(
      await tedi(['sources', 'activate', 'cadastre']),
      /cadastre is quarterly and it has no params\.feedUrl, so every scheduled check would fail: set its feed first \(npm run tedi -- sources set cadastre feedUrl=/,
    );
    assert.equal((await source('cadastre')).isActive, false);
    await ok(['sources', 'set', 'cadastre', 'feedUrl=https://example.org/parcels.csv']);
    await ok(['sources', 'activate', 'cadastre']);
    assert.equal((await source('cadastre')).isActive, true);
    // Active and scheduled, it must keep its feed.
    usage(
      await tedi(['sources', 'set', 'cadastre', 'feedUrl=']),
      /cadastre is active and quarterly, and it has no params\.feedUrl/,
    );
    await ok(['sources', 'deactivate', 'cadastre']);
  });

  test('a source without a connector cannot be activated (in process)', async () => {
    const s = await source('cadastre');
    assert.throws(() => checkActivation(s, false), /cadastre has no connector yet \(implemented: false/);
  });
});

describe('which wins: the CLI or the catalog file', () => {
  test('a restart (catalog reload) keeps what the CLI set, says so, and sources show lists it', async () => {
    await ok(['sources', 'set', 'ilostat', 'refAreas=BEN,TGO', 'rate_limit_per_second=3']);
    await ok(['sources', 'deactivate', 'ilostat']);
    const settings = { worldBankBaseUrl: `${h.fixture.url}/v2`, worldBankCountries: ['BJ'] };
    const kept = async () => {
      const s = await source('ilostat');
      assert.deepEqual((s.params as { refAreas: string[] }).refAreas, ['BEN', 'TGO']);
      assert.equal(s.isActive, false);
      assert.equal(s.config?.rateLimitPerSecond, 3);
    };
    // What npm start does with the file, after the CLI's changes: the same file changes nothing.
    const notices: string[] = [];
    await loadCatalog(h.db.prisma, settings, { warn: (m) => notices.push(m) });
    await kept();
    assert.equal(notices.length, 0, notices.join('\n'));
    // The file edited to other values (countries and a rate limit): the CLI's values still win, with a notice.
    const shipped = fs.readFileSync(path.join(ROOT, 'catalog/sources.yaml'), 'utf8');
    const edited = shipped.replace(
      /(- name: ilostat\n(?:.*\n)*?) {6}refAreas: \[BEN\]\n {4}baseUrl: https:\/\/rplumber\.ilo\.org\n/,
      '$1      refAreas: [BEN, NER]\n    baseUrl: https://rplumber.ilo.org\n    rateLimitPerSecond: 5\n',
    );
    assert.notEqual(edited, shipped, 'the ilostat entry was edited');
    const file = path.join(tmp, 'sources.yaml');
    fs.writeFileSync(file, edited);
    await loadCatalog(h.db.prisma, { ...settings, file }, { warn: (m) => notices.push(m) });
    await kept();
    assert.equal(notices.length, 1, notices.join('\n'));
    assert.match(
      notices[0]!,
      /^catalog: ilostat: the file's params value is not applied: data_sources\.params was changed in the database, and that value is kept/,
    );

    const shown = await ok(['sources', 'show', 'ilostat']);
    assert.match(shown.stdout, new RegExp(`\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\dZ ${me}@.*: is_active: true → false`));
    assert.match(shown.stdout, /: refAreas: .* → \["BEN","TGO"\]/);
    assert.match(shown.stdout, /catalog file \(.*\) differs; the database's values are kept/);
    assert.match(shown.stdout, /is_active: the file says true, the database has false/);
    assert.match(shown.stdout, /rate_limit_per_second: the file says 1, the database has 3/);
    const json = JSON.parse((await ok(['sources', 'show', 'ilostat', '--json'])).stdout);
    assert.deepEqual(
      json.changes.map((c: { key: string }) => c.key),
      ['is_active', 'rate_limit_per_second', 'refAreas'],
    );
    assert.ok(json.catalogDifferences.some((d: { key: string }) => d.key === 'params'));
  });

  test('sources show lists the last ten changes, newest first', async () => {
    const { id } = await source('ilo_sdmx');
    const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, i));
    await h.db.prisma.configChange.createMany({
      data: Array.from({ length: 11 }, (_, i) => ({
        dataSourceId: id,
        key: 'timeout_ms',
        oldValue: i,
        newValue: i + 1,
        changedBy: 'someone',
        host: 'elsewhere',
        command: `sources set ilo_sdmx timeout_ms=${i + 1}`,
        changedAt: at(i),
      })),
    });
    const json = JSON.parse((await ok(['sources', 'show', 'ilo_sdmx', '--json'])).stdout);
    assert.deepEqual(
      json.changes.map((c: { newValue: number }) => c.newValue),
      [11, 10, 9, 8, 7, 6, 5, 4, 3, 2],
    );
  });
});

describe('db-url', () => {
  test('prints the connection string, password masked unless --show-password', async () => {
    const masked = await ok(['db-url']);
    const url = new URL(h.databaseUrl);
    assert.ok(url.password, 'the test database has a password');
    assert.equal(masked.stdout.trim(), h.databaseUrl.replace(`:${url.password}@`, ':***@'));
    assert.doesNotMatch(masked.stdout + masked.stderr, new RegExp(url.password));
    assert.match(masked.stderr, /from DATABASE_URL; --show-password prints the password/);
    assert.equal((await ok(['db-url', '--show-password'])).stdout.trim(), h.databaseUrl);
    // Unset: the embedded PostgreSQL npm start runs, on EMBEDDED_PG_PORT.
    const embedded = await ok(['db-url', '--json'], { DATABASE_URL: '', EMBEDDED_PG_PORT: '55432' });
    assert.deepEqual(JSON.parse(embedded.stdout), {
      url: 'postgresql://postgres:***@127.0.0.1:55432/tedi',
      from: 'embedded PostgreSQL (EMBEDDED_PG_PORT 55432)',
      passwordShown: false,
    });
  });
});

function surveyFile(name: string, rows: string[]): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, `${[HEADER, ...rows].join('\n')}\n`);
  return file;
}
const good = (i: number) => `production_t,Zou,Bohicon${i},maize,2023-2024,${100 + i},t,S1`;
const bad = (i: number) => `production_t,Zou,Bad${i},maize,2023-2024,not-a-number,t,S1`;

describe('logs show', () => {
  test('the full error, the rejected rows, the counts and the Web UI link', async () => {
    const file = surveyFile('rejects.csv', [good(1), good(2), good(3), bad(1), bad(2)]);
    await assert.rejects(runIngestion(h, SURVEY, { trigger: 'event', event: { location: file } }), WorkflowFailedError);
    const [log] = (await logsOf(h, SURVEY)).filter((l) => l.errorClass === FailureType.TooManyRejects);
    assert.ok(log, 'the run failed with TooManyRejects');
    const run = await ok(['logs', 'show', String(log.id)]);
    assert.match(run.stdout, new RegExp(`^log ${log.id}: ${SURVEY}/current, failed \\(trigger event\\)`, 'm'));
    assert.match(run.stdout, new RegExp(`TooManyRejects: ${escapeRegExp(log.errorMessage!)}`));
    assert.match(run.stdout, /rejected:\s+2$/m);
    assert.match(run.stdout, /rejected rows \(2 kept of 2\)/);
    assert.match(run.stdout, /^ {2}row \d+: \S/m);
    assert.match(
      run.stdout,
      new RegExp(
        `Web UI:\\s+http://localhost:8233/namespaces/default/workflows/${encodeURIComponent(log.workflowId)}/${log.runId}/history`,
      ),
    );
    const json = JSON.parse((await ok(['logs', 'show', String(log.id), '--json'])).stdout);
    assert.equal(json.errorMessage, log.errorMessage);
    assert.equal(json.rejects.length, 2);
    usage(await tedi(['logs', 'show', '99999999']), /<id>: no ingestion log 99999999/);
    usage(await tedi(['logs', 'show', 'abc']), /<id>: must be a log id/);
  });
});

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('tables fit the terminal', () => {
  const columns = [
    { header: 'ID', value: (r: { id: string; text: string }) => r.id, align: 'right' as const },
    { header: 'TEXT', value: (r: { id: string; text: string }) => r.text },
  ];
  const rows = [{ id: '1', text: 'x'.repeat(100) }];

  test('renderTable cuts the widest column with … to the width, never below its minimum, and not without one', () => {
    const cut = renderTable(rows, columns, 40).split('\n');
    assert.ok(cut.every((l) => l.length <= 40));
    assert.equal(cut[1], ` 1  ${'x'.repeat(35)}…`);
    assert.equal(renderTable(rows, columns).split('\n')[1], ` 1  ${'x'.repeat(100)}`);
    // Too narrow for even the minimum: columns stop at 6 characters, as the README says (the terminal wraps the rest).
    const narrow = renderTable(rows, columns, 5).split('\n')[1]!;
    assert.equal(narrow, ' 1  xxxxx…');
    assert.equal(MIN_COLUMN_WIDTH, 6);
  });

  test('the CLI cuts to a pseudo-terminal of 80 columns, and never when piped or --json', async () => {
    // `script` (util-linux) runs the command on a real pseudo-terminal; stty sets its width.
    const exec = promisify(execFile);
    await exec('script', ['--version']).catch((err) => {
      throw new Error(`this test needs util-linux's script command (apt-get install bsdutils): ${err.message}`);
    });
    const command = `stty cols 80; ${process.execPath} --import tsx scripts/tedi.ts logs --source ${SURVEY}`;
    const tty = await exec('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: { ...env, TERM: 'dumb' } });
    const lines = tty.stdout.replace(/\r/g, '').split('\n').filter(Boolean);
    assert.ok(lines.length >= 2, tty.stdout);
    assert.ok(
      lines.every((l) => l.length <= 80),
      lines.join('\n'),
    );
    assert.ok(lines.some((l) => l.includes('…')));
    const piped = await ok(['logs', '--source', SURVEY]);
    assert.ok(
      piped.stdout.split('\n').some((l) => l.length > 80),
      'piped: the table as wide as it is',
    );
    JSON.parse((await ok(['logs', '--source', SURVEY, '--json'])).stdout);
  });
});

describe('trigger and import refuse what cannot work', () => {
  async function runsOf(name: string): Promise<number> {
    let n = 0;
    for await (const w of h.env.client.workflow.list()) if (w.workflowId.startsWith(`ingest-${name}-`)) n++;
    return n;
  }

  test('trigger of an on-event source without a file, import into an API source: exit 2, no run, no count', async () => {
    const logsBefore = (await logsOf(h, SURVEY)).length + (await logsOf(h, 'world_bank_agriculture')).length;
    // The survey failed once already (the rejects of `logs show`): a refusal must add nothing to that.
    const failuresBefore = (await versionOf(h, SURVEY)).consecutiveFailures;
    usage(
      await tedi(['trigger', SURVEY]),
      /agriculture_local_surveys reads a file and it has no params\.feedUrl, so a run without one has nothing to read: import a file \(npm run tedi -- import agriculture_local_surveys <file-or-url>\)/,
    );
    const file = surveyFile('good.csv', [good(1)]);
    usage(
      await tedi(['import', 'world_bank_agriculture', file]),
      /world_bank_agriculture cannot read files: its connector \(world-bank\) reads its own API\. Files go into a file source: .*agriculture_local_surveys.*employment_local_surveys/,
    );
    assert.equal(await runsOf(SURVEY), 0);
    assert.equal(await runsOf('world_bank_agriculture'), 0);
    const logsAfter = (await logsOf(h, SURVEY)).length + (await logsOf(h, 'world_bank_agriculture')).length;
    assert.equal(logsAfter, logsBefore, 'no log row: nothing started');
    assert.equal((await versionOf(h, SURVEY)).consecutiveFailures, failuresBefore);
    assert.equal((await versionOf(h, 'world_bank_agriculture')).consecutiveFailures, 0);
  });
});

describe('the workflow side: usage errors never count toward the breaker', () => {
  test('a run failed by its own input (BadRunInput) leaves the breaker; a bad stored configuration counts', async () => {
    const before = await versionOf(h, SURVEY);
    // Started past the CLI (e.g. `temporal workflow start`): no file, then a file that does not exist.
    for (const extra of [{}, { trigger: 'event' as const, event: { location: path.join(tmp, 'missing.csv') } }]) {
      await assert.rejects(runIngestion(h, SURVEY, extra), (err: Error) => {
        assert.ok(err instanceof WorkflowFailedError);
        return true;
      });
    }
    const failed = (await logsOf(h, SURVEY)).slice(-2);
    assert.deepEqual(
      failed.map((l) => [l.status, l.errorClass]),
      [
        ['failed', FailureType.BadRunInput],
        ['failed', FailureType.BadRunInput],
      ],
    );
    assert.match(failed[0]!.errorMessage!, /needs a file or URL/);
    assert.match(failed[1]!.errorMessage!, /file not found: .*missing\.csv\. Check the path given to the import/);
    const v = await versionOf(h, SURVEY);
    assert.equal(v.consecutiveFailures, before.consecutiveFailures);
    assert.deepEqual(
      [v.lastCheckedAt, v.nextCheckAt, v.breakerOpenedAt],
      [before.lastCheckedAt, before.nextCheckAt, null],
    );

    // The source's own configuration is wrong (a feed file that is not there): that is the source's failure.
    await h.db.prisma.dataSource.update({
      where: { name: 'cadastre' },
      data: { params: { ...((await source('cadastre')).params as object), feedUrl: 'file:///no/such/feed.csv' } },
    });
    const cadastre = (await versionOf(h, 'cadastre')).consecutiveFailures;
    await assert.rejects(runIngestion(h, 'cadastre', { force: true }), WorkflowFailedError);
    const [log] = (await logsOf(h, 'cadastre')).slice(-1);
    assert.equal(log?.errorClass, FailureType.ConfigurationError);
    assert.match(log!.errorMessage!, /file not found: \/no\/such\/feed\.csv\. Fix params\.feedUrl/);
    assert.equal((await versionOf(h, 'cadastre')).consecutiveFailures, cadastre + 1);
  });
});
