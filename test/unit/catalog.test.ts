// The declarative catalog (catalog/sources.yaml through catalog/load.ts) on real PostgreSQL, one database:
// the shipped file loads exactly what the TypeScript catalog loaded, a second load changes nothing, an
// operator's edit of a copy of the file is loaded (and a change made in the database is kept), and every
// kind of bad entry, like a YAML syntax error, fails naming the file, the entry, the field and the line,
// leaving the database as it was.
//
// test/fixtures/catalog/old-catalog-rows.json is the reference: taken at commit 6b189d4, before the catalog
// became a file, by a one-off tsx script that ran the old prisma/catalog.ts loadCatalog(prisma,
// catalogSettings(loadConfig({}))) on a fresh test database and saved every data_sources,
// data_source_configs, datasets and dataset_versions row as to_jsonb(row) minus ids and timestamps (foreign
// keys as the source name and dataset slug), with the entry fields the database does not keep (its "_made").
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { probesEveryTick } from '../../catalog/apply';
import { CatalogError, type CatalogSettings, catalog, catalogSettings, loadCatalog } from '../../catalog/load';
import { ConfigError, loadConfig } from '../../lib/config';
import { type Database, openDatabase } from '../../lib/db';
import { getConnector } from '../../sources';
import { FEED_SETUP_NOTE, TABULAR_CATALOG_PARAMS } from '../../sources/specs/tabular/catalog-params';
import old from '../fixtures/catalog/old-catalog-rows.json';
import { startTestDatabase, type TestDatabase } from '../helpers/database';

const SHIPPED = path.join(__dirname, '..', '..', 'catalog', 'sources.yaml');
const TEXT = fs.readFileSync(SHIPPED, 'utf8');
const SETTINGS: CatalogSettings = { worldBankBaseUrl: 'https://api.worldbank.org/v2', worldBankCountries: ['BJ'] };

let database: TestDatabase;
let db: Database;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-catalog-test-'));

before(async () => {
  database = await startTestDatabase();
  db = openDatabase(database.url, { max: 2 });
});
after(async () => {
  await db?.close();
  await database?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function rows(sql: string): Promise<unknown[]> {
  return (await db.pool.query(sql)).rows.map((r) => r.row);
}

/** The catalog tables as the snapshot has them: no ids, timestamps or catalog_applied (newer than it). */
async function catalogRows() {
  return {
    data_sources: await rows(
      `SELECT to_jsonb(s) - 'id' - 'created_at' - 'updated_at' - 'catalog_applied' AS row FROM data_sources s ORDER BY s.id`,
    ),
    data_source_configs: await rows(
      `SELECT jsonb_build_object('source', s.name) || (to_jsonb(c) - 'id' - 'data_source_id' - 'created_at' - 'updated_at') AS row
         FROM data_source_configs c JOIN data_sources s ON s.id = c.data_source_id ORDER BY s.id`,
    ),
    datasets: await rows(
      `SELECT jsonb_build_object('source', s.name) || (to_jsonb(d) - 'id' - 'data_source_id' - 'created_at') AS row
         FROM datasets d JOIN data_sources s ON s.id = d.data_source_id ORDER BY d.id`,
    ),
    dataset_versions: await rows(
      `SELECT jsonb_build_object('source', s.name, 'dataset', d.slug) ||
              (to_jsonb(v) - 'id' - 'dataset_id' - 'data_source_id' - 'created_at' - 'updated_at') AS row
         FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id JOIN data_sources s ON s.id = v.data_source_id
        ORDER BY v.id`,
    ),
  };
}

/** Every row of the catalog tables, ids and timestamps included: "unchanged" means this is equal. */
async function everything(opts: { updatedAt: boolean } = { updatedAt: true }) {
  const drop = opts.updatedAt ? '' : ` - 'updated_at'`;
  const all: Record<string, unknown[]> = {};
  for (const table of ['data_sources', 'data_source_configs', 'datasets', 'dataset_versions']) {
    all[table] = await rows(`SELECT to_jsonb(t)${drop} AS row FROM ${table} t ORDER BY id`);
  }
  return all;
}

async function emptyCatalog() {
  await db.pool.query(
    'TRUNCATE data_sources, data_source_configs, datasets, dataset_versions RESTART IDENTITY CASCADE',
  );
}

async function source(name: string) {
  return db.prisma.dataSource.findUniqueOrThrow({ where: { name } });
}

type Row = Record<string, unknown>;

/**
 * The snapshot as an installation loaded by the TypeScript catalog has it after the migrations since
 * (20261202100000_auth_from_config: source_type and datasets.description dropped, the auth columns added
 * and set for UN Comtrade, FAOSTAT and UNIDO), which is what a new installation must get from the file.
 */
function upgraded(snapshot: typeof old) {
  const connector = new Map(snapshot.data_sources.map((s) => [s.name, s.connector]));
  const without = (row: Row, column: string) => Object.fromEntries(Object.entries(row).filter(([k]) => k !== column));
  return {
    // 20261204100000_breaker_timing: sources whose connector's probe is cheap are probed at every tick.
    data_sources: snapshot.data_sources.map((s) => ({
      ...without(s, 'source_type'),
      probe_every_tick: probesEveryTick(s.connector),
    })),
    data_source_configs: snapshot.data_source_configs.map((c) => {
      const row: Row = {
        ...c,
        api_key_in: 'header',
        api_key_param: null,
        bearer_login_url: null,
        // 20261204100000_breaker_timing: the half-open cool-down and the probe interval's bounds, defaults.
        breaker_cooldown_minutes: 360,
        probe_interval_min_hours: 24,
        probe_interval_max_hours: 720,
      };
      const kind = connector.get(c.source);
      if (kind === 'un_comtrade')
        Object.assign(row, { auth_type: 'api_key', api_key_param: 'Ocp-Apim-Subscription-Key' });
      if (kind === 'faostat' && c.auth_type === 'none')
        Object.assign(row, { auth_type: 'bearer', bearer_login_url: 'auth/login' });
      if (kind === 'unido_indstat' && c.auth_type === 'basic') row.auth_type = 'none';
      return row;
    }),
    datasets: snapshot.datasets.map((d) => without(d, 'description')),
    // 20261204100000_breaker_timing: no half-open probe yet, and no reliability before any history.
    dataset_versions: snapshot.dataset_versions.map((v) => ({
      ...v,
      breaker_probed_at: null,
      source_reliability_score: null,
    })),
  };
}

let copies = 0;
/** A copy of the shipped file with `edit` applied; returns its path. */
function copy(text: string): string {
  const file = path.join(tmp, `sources-${++copies}.yaml`);
  fs.writeFileSync(file, text);
  return file;
}

/**
 * Replaces the first `from` after the line `- name: <entry>` (or anywhere, for entry null) and returns
 * the text and the 1-based line and column where `to` now starts.
 */
function edit(text: string, entry: string | null, from: string, to: string) {
  const start = entry === null ? 0 : text.indexOf(`  - name: ${entry}\n`);
  assert.ok(start >= 0, `no entry ${entry}`);
  const at = text.indexOf(from, start);
  assert.ok(at >= 0, `no "${from}" in ${entry}`);
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const col = at - before.lastIndexOf('\n');
  return { text: before + to + text.slice(at + from.length), line, col };
}

describe('the shipped catalog', () => {
  beforeEach(emptyCatalog);

  test('loads exactly the rows the TypeScript catalog loaded', async () => {
    assert.deepEqual(catalogSettings(loadConfig({})), old.settings, 'the default settings are the snapshot’s');
    const result = await loadCatalog(db.prisma, old.settings);
    assert.deepEqual(result, { sources: 19, notices: [] });
    const tables = upgraded(old);
    const actual = await catalogRows();
    // Row by row first, so a difference names its table and row.
    for (const [table, expected] of Object.entries(tables)) {
      for (const [i, row] of (expected as unknown[]).entries()) {
        assert.deepEqual(actual[table as keyof typeof actual][i], row, `${table}[${i}]`);
      }
    }
    assert.deepEqual(actual, tables);
    // What the database does not keep, but `sources list/show` read from the catalog.
    assert.deepEqual(
      catalog(old.settings).map((e) => ({
        name: e.name,
        implemented: e.implemented,
        rationale: e.rationale,
        note: e.note ?? null,
      })),
      old.entries,
    );
    // The tabular defaults the tests use are the file's, and so is the feed note.
    for (const e of catalog(SETTINGS).filter((e) => e.connector === 'tabular_file')) {
      assert.deepEqual(e.params, TABULAR_CATALOG_PARAMS[e.name], e.name);
      if (e.frequency !== 'on_event') assert.equal(e.note, FEED_SETUP_NOTE, e.name);
    }
  });

  test('the settings fill the World Bank sources: base URL and countries', async () => {
    await loadCatalog(db.prisma, { worldBankBaseUrl: 'http://127.0.0.1:9/v2', worldBankCountries: ['BJ', 'TG'] });
    const wb = await db.prisma.dataSource.findMany({ where: { connector: 'world-bank' }, include: { config: true } });
    assert.equal(wb.length, 3);
    for (const s of wb) {
      assert.deepEqual((s.params as { countries: string[] }).countries, ['BJ', 'TG'], s.name);
      assert.equal(s.config?.baseUrl, 'http://127.0.0.1:9/v2', s.name);
    }
  });

  test('loading twice changes nothing', async () => {
    await loadCatalog(db.prisma, SETTINGS);
    const first = await everything({ updatedAt: false });
    const again = await loadCatalog(db.prisma, SETTINGS);
    assert.deepEqual(again, { sources: 19, notices: [] });
    assert.deepEqual(await everything({ updatedAt: false }), first);
  });
});

describe('operator edits', () => {
  beforeEach(async () => {
    await emptyCatalog();
    await loadCatalog(db.prisma, SETTINGS);
  });

  test('a country, an indicator and a feed URL edited in the file are loaded', async () => {
    let text = edit(
      TEXT,
      'world_bank_agriculture',
      `countries: "\${TEDI_WB_COUNTRIES}"`,
      `countries: ["\${TEDI_WB_COUNTRIES}", TG]`,
    ).text;
    text = edit(text, 'world_bank_business', 'NV.IND.MANF.ZS]', 'NV.IND.MANF.ZS, NY.GDP.MKTP.CD]').text;
    // A feed source is switched on by its feed URL: `active: false` and the setup note go.
    text = edit(
      text,
      'cadastre',
      '    params:\n',
      '    params:\n      feedUrl: https://example.org/cadastre-1.csv\n',
    ).text;
    text = edit(text, 'cadastre', `    active: false\n    note: "${FEED_SETUP_NOTE}"\n`, '').text;
    const file = copy(text);
    const notices: string[] = [];
    await loadCatalog(db.prisma, { ...SETTINGS, file }, { warn: (m) => notices.push(m) });
    assert.deepEqual(notices, []);
    assert.deepEqual((await source('world_bank_agriculture')).params, {
      indicators: ['AG.PRD.CROP.XD', 'AG.LND.ARBL.ZS', 'NV.AGR.TOTL.ZS'],
      countries: ['BJ', 'TG'],
    });
    assert.deepEqual((await source('world_bank_business')).params, {
      indicators: ['IC.BUS.NREG', 'IC.REG.DURS', 'NV.IND.MANF.ZS', 'NY.GDP.MKTP.CD'],
      countries: ['BJ'],
    });
    const cadastre = await source('cadastre');
    assert.equal((cadastre.params as { feedUrl?: string }).feedUrl, 'https://example.org/cadastre-1.csv');
    assert.equal(cadastre.isActive, true, 'a feed URL activates the source');
    assert.equal(cadastre.note, null);
    // Untouched sources stay as they were.
    assert.deepEqual((await source('world_bank_employment')).params, {
      indicators: ['SL.UEM.TOTL.ZS', 'SL.AGR.EMPL.ZS', 'SL.TLF.CACT.ZS'],
      countries: ['BJ'],
    });
    assert.equal((await source('rccm')).isActive, false);

    // The feed URL changes again; a new source, with the default dataset and version, is added.
    const changed = `${text.replace('https://example.org/cadastre-1.csv', 'file:///srv/feeds/cadastre.csv')}
  - name: togo_surveys
    title: Togo local surveys
    url: file://
    organization: Local survey teams
    vertical: agriculture
    connector: tabular_file
    frequency: on_event
    rationale: manual trigger
    params:
      columns: { seriesKey: [indicator], period: period, value: value }
      rowSchema: { indicator: string, period: string, value: number? }
    baseUrl: file://
`;
    const result = await loadCatalog(db.prisma, { ...SETTINGS, file: copy(changed) });
    assert.deepEqual(result, { sources: 20, notices: [] });
    assert.equal(((await source('cadastre')).params as { feedUrl?: string }).feedUrl, 'file:///srv/feeds/cadastre.csv');
    const togo = await db.prisma.dataSource.findUniqueOrThrow({
      where: { name: 'togo_surveys' },
      include: { datasets: { include: { versions: true } }, config: true },
    });
    assert.equal(togo.isActive, true);
    assert.deepEqual(
      togo.datasets.map((d) => [d.slug, d.title, d.versions.map((v) => v.version)]),
      [['togo_surveys', 'Togo local surveys', ['current']]],
    );
    assert.equal(togo.config?.rateLimitPerSecond, 1);
  });

  test('a value changed in the database is kept, with a notice; the rest of the file applies', async () => {
    // An operator sets the employment countries and deactivates ILOSTAT in the database.
    await db.prisma.dataSource.update({
      where: { name: 'world_bank_employment' },
      data: { params: { indicators: ['SL.UEM.TOTL.ZS'], countries: ['NE'] } },
    });
    await db.prisma.dataSource.update({ where: { name: 'ilostat' }, data: { isActive: false } });
    await db.prisma.dataSourceConfig.updateMany({
      where: { dataSource: { name: 'ilostat' } },
      data: { rateLimitPerSecond: 3 },
    });
    // Unchanged file: nothing to say, nothing overwritten.
    assert.deepEqual((await loadCatalog(db.prisma, SETTINGS)).notices, []);
    assert.deepEqual((await source('world_bank_employment')).params, {
      indicators: ['SL.UEM.TOTL.ZS'],
      countries: ['NE'],
    });
    // The file now changes both sources, and another one.
    let text = edit(TEXT, 'world_bank_employment', 'SL.TLF.CACT.ZS]', 'SL.TLF.CACT.ZS, SL.EMP.TOTL]').text;
    text = edit(text, 'ilostat', 'refAreas: [BEN]', 'refAreas: [BEN, TGO]').text;
    text = edit(
      text,
      'ilostat',
      '    baseUrl: https://rplumber.ilo.org\n',
      '    baseUrl: https://rplumber.ilo.org\n    active: true\n',
    ).text;
    text = edit(text, 'ilostat', 'rplumber.ilo.org\n', 'rplumber.ilo.org\n    rateLimitPerSecond: 0.25\n').text;
    const notices: string[] = [];
    await loadCatalog(db.prisma, { ...SETTINGS, file: copy(text) }, { warn: (m) => notices.push(m) });
    // ilostat's active is true in the file as before (only written out now): no change of the file's to report.
    assert.equal(notices.length, 1, notices.join('\n'));
    assert.match(
      notices[0]!,
      /^catalog: world_bank_employment: the file's params value is not applied: data_sources\.params was changed in the database, and that value is kept/,
    );
    assert.match(notices[0]!, /set data_sources\.params to '\{\}' for world_bank_employment/);
    assert.deepEqual((await source('world_bank_employment')).params, {
      indicators: ['SL.UEM.TOTL.ZS'],
      countries: ['NE'],
    });
    const ilostat = await db.prisma.dataSource.findUniqueOrThrow({
      where: { name: 'ilostat' },
      include: { config: true },
    });
    assert.equal(ilostat.isActive, false, 'kept');
    assert.deepEqual(ilostat.params, {
      indicators: ['UNE_DEAP_SEX_AGE_RT_A', 'EMP_TEMP_SEX_ECO_NB_A'],
      refAreas: ['BEN', 'TGO'],
    });
    assert.equal(ilostat.config?.rateLimitPerSecond, 3, 'the configuration row is the database’s once created');
    // Said once: the same file again is quiet.
    assert.deepEqual((await loadCatalog(db.prisma, { ...SETTINGS, file: copy(text) })).notices, []);

    // Params reset to {} hand the source back to the file.
    await db.prisma.dataSource.update({ where: { name: 'world_bank_employment' }, data: { params: {} } });
    await loadCatalog(db.prisma, { ...SETTINGS, file: copy(text) });
    assert.deepEqual((await source('world_bank_employment')).params, {
      indicators: ['SL.UEM.TOTL.ZS', 'SL.AGR.EMPL.ZS', 'SL.TLF.CACT.ZS', 'SL.EMP.TOTL'],
      countries: ['BJ'],
    });
  });

  test('rows loaded before the file existed: a value equal to the file follows it from then on, another is kept', async () => {
    await db.pool.query('UPDATE data_sources SET catalog_applied = NULL');
    await db.prisma.dataSource.update({
      where: { name: 'world_bank_business' },
      data: { params: { indicators: ['IC.BUS.NREG'], countries: ['BJ'] } },
    });
    let text = edit(TEXT, 'world_bank_agriculture', 'NV.AGR.TOTL.ZS]', 'NV.AGR.TOTL.ZS, AG.LND.IRIG.AG.ZS]').text;
    text = edit(text, 'world_bank_business', 'NV.IND.MANF.ZS]', 'NV.IND.MANF.ZS, NY.GDP.MKTP.CD]').text;
    const notices: string[] = [];
    await loadCatalog(db.prisma, { ...SETTINGS, file: copy(text) }, { warn: (m) => notices.push(m) });
    // No record of what the old catalog wrote: a row that differs from the file is kept.
    assert.deepEqual((await source('world_bank_agriculture')).params, {
      indicators: ['AG.PRD.CROP.XD', 'AG.LND.ARBL.ZS', 'NV.AGR.TOTL.ZS'],
      countries: ['BJ'],
    });
    assert.deepEqual((await source('world_bank_business')).params, { indicators: ['IC.BUS.NREG'], countries: ['BJ'] });
    assert.equal(notices.length, 2, notices.join('\n'));
    // The unedited rows now carry what the file said, so the next edit reaches them.
    await db.pool.query('UPDATE data_sources SET catalog_applied = NULL');
    await loadCatalog(db.prisma, SETTINGS, { warn: () => undefined });
    await loadCatalog(db.prisma, { ...SETTINGS, file: copy(text) }, { warn: () => undefined });
    assert.deepEqual((await source('world_bank_agriculture')).params, {
      indicators: ['AG.PRD.CROP.XD', 'AG.LND.ARBL.ZS', 'NV.AGR.TOTL.ZS', 'AG.LND.IRIG.AG.ZS'],
      countries: ['BJ'],
    });
  });
});

describe('a bad catalog file', () => {
  before(async () => {
    await emptyCatalog();
    await loadCatalog(db.prisma, SETTINGS);
  });

  const wbCountries = getConnector('world-bank').paramsSchema.safeParse({
    indicators: ['AG.PRD.CROP.XD'],
    countries: ['BJ', 'B1'],
  });
  assert.ok(!wbCountries.success);

  const cases: {
    kind: string;
    entry: string | null;
    from: string;
    to: string;
    expect: RegExp;
    /** The issue points here instead of at the edit: [line offset from the edit, column]. */
    at?: [number, number];
  }[] = [
    {
      kind: 'unknown connector',
      entry: 'world_bank_agriculture',
      from: 'world-bank',
      to: 'worldbank',
      expect:
        /source "world_bank_agriculture" \(sources\[1\]\), field connector: unknown connector "worldbank": use one of .*world-bank/,
    },
    {
      kind: 'unknown vertical',
      entry: 'faostat',
      from: 'agriculture',
      to: 'farming',
      expect:
        /source "faostat" \(sources\[0\]\), field vertical: must be one of agriculture, realestate, employment, business/,
    },
    {
      kind: 'unknown frequency',
      entry: 'openstreetmap',
      from: 'monthly',
      to: 'every month',
      expect:
        /source "openstreetmap" \(sources\[4\]\), field frequency: must be one of weekly, monthly, quarterly, semi_annual, annual, on_event/,
    },
    {
      kind: 'duplicate source name',
      entry: 'ecb_sdmx',
      from: 'ecb_sdmx\n',
      to: 'ilo_sdmx\n',
      expect:
        /source "ilo_sdmx" \(sources\[17\]\), field name: the name "ilo_sdmx" is already used by sources\[9\]: give each source a name of its own/,
    },
    {
      kind: 'duplicate dataset',
      entry: 'un_comtrade',
      from: 'slug: un_comtrade',
      to: 'slug: ecb_sdmx',
      expect:
        /source "un_comtrade" \(sources\[18\]\), field datasets\[0\]\.slug: dataset "ecb_sdmx" is already listed at sources\[17\]\.datasets\[0\]/,
      at: [0, 15],
    },
    {
      kind: 'duplicate dataset version',
      entry: 'satellite_ndvi',
      from: 'versions: [current]',
      to: 'versions: [current, current]',
      expect:
        /source "satellite_ndvi" \(sources\[2\]\), field datasets\[0\]\.versions\[1\]: version "current" of dataset "satellite_ndvi" is listed twice/,
      at: [0, 29],
    },
    {
      kind: 'bad url',
      entry: 'ilostat',
      from: 'url: https://ilostat.ilo.org/',
      to: 'url: ilostat.ilo.org',
      expect: /source "ilostat" \(sources\[8\]\), field url: must be an http:\/\/, https:\/\/ or file:\/\/ URL/,
      at: [0, 10],
    },
    {
      kind: 'bad base URL',
      entry: 'ecb_sdmx',
      from: 'baseUrl: https://data-api.ecb.europa.eu/service',
      to: 'baseUrl: data-api.ecb.europa.eu/service',
      expect: /source "ecb_sdmx" \(sources\[17\]\), field baseUrl: must be an http:\/\/, https:\/\/ or file:\/\/ URL/,
      at: [0, 14],
    },
    {
      kind: "the connector's params schema",
      entry: 'world_bank_business',
      from: `countries: "\${TEDI_WB_COUNTRIES}"`,
      to: 'countries: [BJ, B1]',
      expect: new RegExp(
        `source "world_bank_business" \\(sources\\[14\\]\\), field params\\.countries\\[1\\]: ${reEscape(wbCountries.error.issues[0]!.message)}`,
      ),
      at: [0, 23],
    },
    {
      kind: 'unknown field',
      entry: 'rccm',
      from: 'frequency: quarterly',
      to: 'fequency: quarterly',
      expect: /source "rccm" \(sources\[13\]\), field fequency: unknown field fequency: a source takes name, title/,
      at: [0, 15],
    },
    {
      kind: 'a setting that is not a catalog setting',
      entry: 'world_bank_employment',
      from: `\${TEDI_WORLD_BANK_BASE_URL}`,
      to: `\${TEDI_SECRET_KEY}`,
      expect:
        /source "world_bank_employment" \(sources\[10\]\), field baseUrl: unknown setting \$\{TEDI_SECRET_KEY\}: a catalog file can use \$\{TEDI_WORLD_BANK_BASE_URL\}/,
      at: [0, 14],
    },
    {
      kind: 'a scheduled feed source active without a feed URL',
      entry: 'land_values',
      from: '    active: false\n',
      to: '    active: true\n',
      expect:
        /source "land_values" \(sources\[7\]\), field active: a annual tabular_file source without params\.feedUrl would fail every scheduled check: set params\.feedUrl/,
      at: [0, 13],
    },
    {
      kind: 'an auth type without its columns',
      entry: 'un_comtrade',
      from: '    apiKeyParam: Ocp-Apim-Subscription-Key\n',
      to: '',
      expect:
        /source "un_comtrade" \(sources\[18\]\), field authType: authType api_key needs apiKeyParam: the header .* e\.g\. apiKeyParam: Ocp-Apim-Subscription-Key/,
      at: [-1, 15],
    },
  ];

  for (const c of cases) {
    test(`refused, naming file, entry and field: ${c.kind}`, async () => {
      const edited = edit(TEXT, c.entry, c.from, c.to);
      const file = copy(edited.text);
      const rowsBefore = await everything();
      const line = edited.line + (c.at?.[0] ?? 0);
      const col = c.at?.[1] ?? edited.col;
      await assert.rejects(loadCatalog(db.prisma, { ...SETTINGS, file }), (err: Error) => {
        assert.ok(err instanceof CatalogError && err instanceof ConfigError, String(err));
        assert.match(err.message, new RegExp(`^Invalid catalog file ${reEscape(file)} \\(nothing was loaded\\):\\n`));
        assert.match(err.message, new RegExp(`\\n  ${reEscape(file)}:${line}:${col}: `), err.message);
        assert.match(err.message, c.expect);
        assert.match(err.message, new RegExp(`\\nFix (this field|these fields) in ${reEscape(file)} and start again`));
        return true;
      });
      assert.deepEqual(await everything(), rowsBefore, 'the database is unchanged');
    });
  }

  test('every bad entry is listed, and an empty database stays empty', async () => {
    let text = edit(TEXT, 'faostat', 'quarterly', 'yearly').text;
    text = edit(text, 'un_comtrade', 'authType: api_key', 'authType: key').text;
    await emptyCatalog();
    try {
      await assert.rejects(loadCatalog(db.prisma, { ...SETTINGS, file: copy(text) }), (err: Error) => {
        assert.match(err.message, /\(sources\[0\]\), field frequency: must be one of/);
        assert.match(err.message, /\(sources\[18\]\), field authType: must be one of none, api_key, bearer, basic/);
        assert.match(err.message, /\nFix these fields in /);
        return true;
      });
      assert.equal(await db.prisma.dataSource.count(), 0);
      assert.equal(await db.prisma.datasetVersion.count(), 0);
    } finally {
      await loadCatalog(db.prisma, SETTINGS);
    }
  });

  test('a YAML syntax error names the line and column', async () => {
    const edited = edit(TEXT, 'ilostat', 'refAreas: [BEN]', 'refAreas: [BEN');
    const file = copy(edited.text);
    const rowsBefore = await everything();
    await assert.rejects(loadCatalog(db.prisma, { ...SETTINGS, file }), (err: Error) => {
      assert.ok(err instanceof CatalogError);
      assert.match(
        err.message,
        new RegExp(`^${reEscape(file)}:\\d+:\\d+: YAML syntax error at line \\d+, column \\d+: `),
      );
      const [, line] = /^[^:]+:(\d+):/.exec(err.message) ?? [];
      assert.ok(Math.abs(Number(line) - edited.line) <= 1, `line ${line}, edit on ${edited.line}: ${err.message}`);
      assert.match(err.message, /refAreas: \[BEN/, 'shows the line');
      assert.match(err.message, /Nothing was loaded\. Fix the file and start again\.$/);
      return true;
    });
    // A key written twice is a YAML error too.
    const twice = edit(
      TEXT,
      'ilostat',
      '    frequency: semi_annual\n',
      '    frequency: semi_annual\n    frequency: annual\n',
    );
    await assert.rejects(loadCatalog(db.prisma, { ...SETTINGS, file: copy(twice.text) }), (err: Error) =>
      new RegExp(
        `:${twice.line + 1}:5: YAML syntax error at line ${twice.line + 1}, column 5: Map keys must be unique`,
      ).test(err.message),
    );
    assert.deepEqual(await everything(), rowsBefore);
  });

  test('a missing file names TEDI_CATALOG_FILE', async () => {
    assert.throws(
      () => catalog({ ...SETTINGS, file: path.join(tmp, 'nope.yaml') }),
      /^CatalogError: Cannot read the catalog file .*nope\.yaml: no such file\. Set TEDI_CATALOG_FILE/,
    );
  });
});

describe('TEDI_CATALOG_FILE', () => {
  test('is validated with the other settings and picks the file', () => {
    assert.equal(loadConfig({}).TEDI_CATALOG_FILE, undefined);
    assert.equal(catalogSettings(loadConfig({})).file, undefined);
    const file = copy(TEXT);
    assert.equal(catalogSettings(loadConfig({ TEDI_CATALOG_FILE: file })).file, file);
    assert.throws(
      () => loadConfig({ TEDI_CATALOG_FILE: path.join(tmp, 'missing.yaml') }),
      (err: Error) =>
        err instanceof ConfigError &&
        /TEDI_CATALOG_FILE=".*missing\.yaml": no such file: give the path of a catalog file/.test(err.message),
    );
    const renamed = edit(TEXT, 'faostat', 'title: FAOSTAT crops', 'title: FAOSTAT (copy) crops').text;
    fs.writeFileSync(file, renamed);
    assert.equal(
      catalog(catalogSettings(loadConfig({ TEDI_CATALOG_FILE: file })))[0]?.title,
      'FAOSTAT (copy) crops and livestock production (QCL)',
    );
  });
});

function reEscape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
