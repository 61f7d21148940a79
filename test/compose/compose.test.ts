// temporal-docker-compose.yml cannot be started here (no Docker engine), so this checks the file itself:
// it parses, its wiring is consistent (depends_on, ports, queues, search attributes), the settings it
// gives TEDI's services are ones the application reads and accepts, and no secret is written into it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../lib/config';
import { pinnedTemporalVersions } from '../../lib/infra/cluster/temporal-binaries';
import { TEMPORAL_DATABASES, TEMPORAL_SQL_PLUGIN } from '../../lib/infra/cluster/temporal-schema';
import { DEFAULT_TEMPORAL_PORTS, temporalServerEnvironment } from '../../lib/infra/cluster/temporal-server-process';
import { SEARCH_ATTRIBUTES } from '../../lib/search-attributes';
import { TASK_QUEUES } from '../../lib/verticals';
import { DEFAULT_RETENTION_DAYS } from '../../operations/temporal/namespace';
import { WORKER_STOP_GRACE_MS } from '../../scripts/cluster/cluster';
import { clusterWorkers } from '../../scripts/cluster/topology';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  ports?: Array<string | number | { target: number; published?: string | number; host_ip?: string }>;
  container_name?: string;
  profiles?: string[];
  volumes?: string[];
  healthcheck?: { test: string | string[] };
}

// `merge`: the file shares settings between services with YAML anchors and `<<` merge keys, as Compose does.
const compose = parse(read('temporal-docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  configs?: Record<string, { file?: string; content?: string }>;
};
const services = compose.services;
const names = Object.keys(services);
const tediServices = names.filter((n) => n.startsWith('tedi-'));
const workerServices = names.filter((n) => n.startsWith('tedi-worker-'));

/**
 * Variables set on tedi-* services that lib/config.ts does not read, each with the reason. None today:
 * add one here, with why, rather than loosening the check.
 */
const NOT_APP_CONFIG: Record<string, string> = {};

/** The value of an environment entry as Compose passes it, with `${VAR:-default}` and `$$` resolved. */
function interpolate(value: string, env: Record<string, string> = {}): string {
  return value.replace(/\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}/g, (whole, name?: string, op?: string, arg?: string) => {
    if (whole === '$$') return '$';
    const set = env[name!];
    if (set !== undefined && (set !== '' || !op?.startsWith(':'))) return set;
    if (op?.endsWith('-')) return arg ?? '';
    if (op?.endsWith('?')) throw new Error(`${name} is required: ${arg}`);
    return '';
  });
}

function environmentOf(s: Service): Record<string, string> {
  const env = s.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e) => [e.split('=')[0]!, e.slice(e.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function dependsOn(s: Service): string[] {
  if (!s.depends_on) return [];
  return Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on);
}

function script(s: Service): string {
  return [s.entrypoint, s.command].flat().filter(Boolean).join(' ');
}

/** Host side of each published port: short syntax ("[ip:]host:container") or long syntax. */
function publishedPorts(s: Service): Array<{ ip: string; port: number }> {
  return (s.ports ?? []).flatMap((p) => {
    if (typeof p === 'object') {
      return p.published === undefined ? [] : [{ ip: p.host_ip ?? '0.0.0.0', port: Number(p.published) }];
    }
    const parts = String(p).split(':');
    if (parts.length < 2) return []; // container port only: Docker picks a free host port
    const ip = parts.length === 3 ? parts[0]! : '0.0.0.0';
    return [{ ip, port: Number(parts[parts.length - 2]) }];
  });
}

describe('temporal-docker-compose.yml', () => {
  test('parses, with the services the production layout needs', () => {
    for (const required of [
      'postgresql',
      'temporal-admin-tools',
      'temporal',
      'temporal-create-namespace',
      'temporal-ui',
      'app-db',
      'tedi-migrate',
      'tedi-api',
      'prometheus',
    ]) {
      assert.ok(services[required], `service ${required}`);
    }
  });

  test('every depends_on names a service, and every named volume and config is declared', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const dep of dependsOn(s)) assert.ok(services[dep], `${name} depends on unknown service ${dep}`);
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0]!;
        if (source.startsWith('.') || source.startsWith('/')) {
          assert.ok(fs.existsSync(path.join(ROOT, source)), `${name} mounts missing ${source}`);
        } else {
          assert.ok(compose.volumes && source in compose.volumes, `${name} uses undeclared volume ${source}`);
        }
      }
    }
    assert.ok(compose.configs?.['temporal-dynamic-config'], 'the dynamic config the server mounts');
  });

  test('host ports do not clash, and only loopback is published', () => {
    const seen = new Map<number, string>();
    for (const [name, s] of Object.entries(services)) {
      for (const { ip, port } of publishedPorts(s)) {
        assert.equal(ip, '127.0.0.1', `${name} publishes ${port} beyond loopback`);
        assert.ok(!seen.has(port), `${name} and ${seen.get(port)} both publish host port ${port}`);
        seen.set(port, name);
      }
    }
  });

  test('TEDI services set only variables the application reads, with values it accepts', () => {
    const secrets = { TEDI_SECRET_KEY: 'f'.repeat(64) };
    assert.ok(tediServices.length >= 6);
    for (const name of tediServices) {
      const env = environmentOf(services[name]!);
      for (const key of Object.keys(env)) {
        assert.ok(
          CONFIG_VARIABLES.includes(key) || key in NOT_APP_CONFIG,
          `${name} sets ${key}, which lib/config.ts does not read`,
        );
      }
      const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(v, secrets)]));
      const config = loadConfig(resolved);
      assert.match(String(config.DATABASE_URL), /@app-db:5432\//, `${name} uses the application database`);
      // The read API talks to the database only; every other TEDI service is a Temporal client.
      if (name !== 'tedi-api') assert.equal(config.TEMPORAL_ADDRESS, 'temporal:7233', name);
    }
  });

  test('one worker service per task queue, together covering all five, each scalable', () => {
    const covered = workerServices.flatMap((name) => {
      const s = services[name]!;
      assert.equal(script(s), 'node dist/workers/main.js', `${name} runs the compiled worker`);
      assert.equal(s.container_name, undefined, `${name}: a fixed container name prevents --scale`);
      assert.deepEqual(publishedPorts(s), [], `${name}: a fixed host port prevents --scale`);
      assert.ok(dependsOn(s).includes('tedi-migrate'), `${name} waits for migrations`);
      const queues = environmentOf(s).TEDI_WORKER_QUEUES;
      assert.ok(queues, `${name} sets TEDI_WORKER_QUEUES`);
      return queues.split(',');
    });
    assert.deepEqual([...covered].sort(), [...TASK_QUEUES].sort());
  });

  test('the migrate job applies migrations, then ensures the schedules', () => {
    const s = services['tedi-migrate']!;
    assert.equal(script(s), 'sh -c node dist/scripts/migrate.js && node dist/scripts/tedi.js schedules ensure');
    assert.equal(
      (s.depends_on as Record<string, { condition?: string }>)['temporal-create-namespace']?.condition,
      'service_completed_successfully',
    );
  });

  test('the read API service runs the compiled api on 0.0.0.0:8088, published on loopback, health-checked on /healthz', () => {
    const s = services['tedi-api']!;
    assert.equal(script(s), 'node dist/scripts/api.js');
    assert.equal(s.build, '.', 'the TEDI image');
    const env = environmentOf(s);
    assert.deepEqual(Object.keys(env).sort(), ['DATABASE_URL', 'LOG_LEVEL', 'TEDI_API_HOST', 'TEDI_API_PORT']);
    const config = loadConfig(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(v)])));
    assert.equal(config.TEDI_API_HOST, '0.0.0.0', 'listens beyond the container’s loopback, for the port mapping');
    assert.equal(config.TEDI_API_PORT, 8088);
    assert.match(String(config.DATABASE_URL), /^postgresql:\/\/tedi:tedi@app-db:5432\/tedi$/);
    assert.deepEqual(publishedPorts(s), [{ ip: '127.0.0.1', port: 8088 }]);
    assert.ok(
      (s.ports ?? []).some((p) => String(p).endsWith(':8088')),
      'the host port maps to the container port it listens on',
    );
    const health = [s.healthcheck?.test ?? []].flat().join(' ');
    assert.match(health, /^CMD /);
    assert.match(health, /http:\/\/127\.0\.0\.1:8088\/healthz/);
    assert.match(health, /process\.exit\(r\.ok \? 0 : 1\)/, 'unhealthy when /healthz is not 200 (503: no database)');
    assert.match(
      read('Dockerfile'),
      /^FROM node:\$\{NODE_VERSION\}-bookworm-slim$/m,
      'no curl in it: node runs the check',
    );
    const deps = s.depends_on as Record<string, { condition?: string }>;
    assert.equal(deps['app-db']?.condition, 'service_healthy');
    assert.equal(deps['tedi-migrate']?.condition, 'service_completed_successfully', 'the read contract exists');
    assert.doesNotMatch(script(s), /workers\/main/);
    assert.ok(!workerServices.includes('tedi-api'));
    assert.match(read('package.json'), /"api:prod": "node dist\/scripts\/api\.js"/);
  });

  test('Temporal runs temporalio/server after an admin-tools schema job, never the deprecated auto-setup image', () => {
    for (const [name, s] of Object.entries(services)) {
      assert.doesNotMatch(String(s.image), /auto-setup/, `${name} uses the deprecated auto-setup image`);
    }
    const server = services.temporal!;
    assert.match(String(server.image), /^temporalio\/server:/);
    assert.equal(environmentOf(server).BIND_ON_IP, '0.0.0.0');
    assert.ok(server.healthcheck, 'a healthcheck the dependants wait on');
    const deps = server.depends_on as Record<string, { condition?: string }>;
    assert.equal(deps['temporal-admin-tools']?.condition, 'service_completed_successfully');

    const schema = services['temporal-admin-tools']!;
    assert.match(String(schema.image), /^temporalio\/admin-tools:/);
    const commands = script(schema);
    assert.match(commands, /temporal-sql-tool --plugin postgres12/);
    for (const db of ['temporal', 'temporal_visibility']) {
      for (const step of ['create', 'setup-schema -v 0.0', 'update-schema -d']) {
        assert.match(commands, new RegExp(`--db ${db} ${step}`), `${db}: ${step}`);
      }
    }
    assert.match(commands, /v12\/temporal\/versioned/);
    assert.match(commands, /v12\/visibility\/versioned/);
  });

  test('the namespace job registers exactly TEDI’s search attributes, as Keyword', () => {
    const commands = script(services['temporal-create-namespace']!);
    assert.match(commands, /temporal operator namespace describe .*\|\|\s*temporal operator namespace create/s);
    const loop = /for name in ([\w ]+); do/.exec(commands);
    assert.ok(loop, 'a loop over the attribute names');
    assert.deepEqual(loop[1]!.trim().split(/\s+/).sort(), SEARCH_ATTRIBUTES.map((k) => k.name).sort());
    assert.match(commands, /search-attribute create .*--type Keyword/);
  });

  test('image versions are pinned, with overridable defaults', () => {
    for (const [name, s] of Object.entries(services)) {
      const image = interpolate(String(s.image));
      const tag = image.split(':')[1];
      assert.ok(tag && tag !== 'latest', `${name}: ${s.image} is not pinned`);
    }
  });

  test('secrets come from the environment, never written into the file', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(environmentOf(s))) {
        if (/PASSWORD|PWD|SECRET/.test(key))
          assert.match(value, /^\$\{\w+[:?-]/, `${name}: ${key} is written literally`);
        if (key === 'DATABASE_URL')
          assert.match(value, /^postgresql:\/\/\w+:\$\{\w+/, `${name}: password literal in URL`);
      }
    }
    const secretKey = environmentOf(services['tedi-migrate']!).TEDI_SECRET_KEY!;
    assert.throws(() => interpolate(secretKey), /TEDI_SECRET_KEY is required/, 'no default: it encrypts data at rest');
  });

  test('TEDI’s image is built from the Dockerfile: node 20, npm ci, no tool downloads', () => {
    for (const name of tediServices) assert.equal(services[name]!.build, '.', name);
    const dockerfile = read('Dockerfile');
    assert.match(dockerfile, /^ARG NODE_VERSION=20\./m);
    assert.match(dockerfile, /^FROM node:\$\{NODE_VERSION\}/m);
    assert.match(dockerfile, /npm ci/);
    const runs = dockerfile.split('\n').filter((line) => /^RUN /.test(line));
    assert.ok(!runs.some((line) => /install-tools|npm run setup/.test(line)), 'the image downloads no dev tools');
    assert.match(read('.dockerignore'), /^node_modules$/m);
  });

  test('the image runs compiled JavaScript: npm run build in the build stage, node dist/workers/main.js by default', () => {
    const dockerfile = read('Dockerfile');
    const build = dockerfile.slice(0, dockerfile.lastIndexOf('\nFROM '));
    const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    assert.match(build, /^RUN npm run build( |$)/m, 'the build stage compiles');
    assert.match(final, /^COPY --from=build \/app\/dist \.\/dist$/m, 'the final image gets dist/');
    assert.match(final, /^CMD \["node", "dist\/workers\/main\.js"\]$/m);
    const instructions = final.split('\n').filter((line) => /^(CMD|ENTRYPOINT|RUN) /.test(line));
    assert.ok(!instructions.some((line) => /tsx/.test(line)), 'no TypeScript loader at run time');
    assert.match(read('.dockerignore'), /^dist$/m, "a local dist/ never replaces the image's own");
    const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
    assert.match(scripts.build ?? '', /tsc -p tsconfig\.build\.json/);
    // Every compiled entry point the compose file names is one the build emits (tsconfig.build.json's sources).
    for (const s of Object.values(services)) {
      for (const entry of script(s).match(/dist\/[\w/.-]+\.js/g) ?? []) {
        const source = entry.replace(/^dist\//, '').replace(/\.js$/, '.ts');
        assert.ok(fs.existsSync(path.join(ROOT, source)), `${entry}: no ${source} to compile`);
      }
    }
  });

  test('Prometheus (profile metrics) scrapes every worker service on its TEDI_METRICS_BIND port', () => {
    const prometheus = services.prometheus!;
    assert.deepEqual(prometheus.profiles, ['metrics']);
    const config = parse(read('deploy/prometheus.yml')) as {
      scrape_configs: Array<{ job_name: string; dns_sd_configs?: Array<{ names: string[]; port: number }> }>;
    };
    const job = config.scrape_configs.find((j) => j.job_name === 'tedi-workers');
    const sd = job?.dns_sd_configs?.[0];
    assert.ok(sd, 'DNS discovery, so scaled replicas are all scraped');
    assert.deepEqual([...sd.names].sort(), [...workerServices].sort());
    for (const name of workerServices) {
      const bind = environmentOf(services[name]!).TEDI_METRICS_BIND;
      assert.equal(bind, `0.0.0.0:${sd.port}`, `${name} serves /metrics where Prometheus looks`);
    }
  });
});

// The cluster mode (npm run start:cluster, scripts/cluster/cluster.ts) is where this deployment's shape is
// run and broken by the fault tests (test/cluster/): these hold the file to what was tested there.
describe('temporal-docker-compose.yml matches the cluster mode', () => {
  const cluster = temporalServerEnvironment({
    sql: { host: '127.0.0.1', port: 5432, user: 'temporal', password: 'x' },
    ports: DEFAULT_TEMPORAL_PORTS,
    dynamicConfigFile: 'deploy/temporal/dynamicconfig.yaml',
    metricsEndpoint: '127.0.0.1:8000',
  });

  test('the same Temporal server, admin tools and Web UI versions as the cluster builds', () => {
    const versions = pinnedTemporalVersions();
    const tag = (service: string) => interpolate(String(services[service]!.image)).split(':')[1];
    assert.equal(tag('temporal'), versions.server);
    assert.equal(tag('temporal-admin-tools'), versions.server);
    assert.equal(tag('temporal-create-namespace'), versions.server);
    assert.equal(tag('temporal-ui'), versions.ui);
  });

  test('the server gets the variables the cluster sets, with the same database plugin', (t) => {
    const composed = environmentOf(services.temporal!);
    for (const key of Object.keys(composed))
      assert.ok(key in cluster, `compose sets ${key}, the cluster mode does not`);
    assert.equal(composed.DB, cluster.DB);
    assert.equal(composed.DB, TEMPORAL_SQL_PLUGIN);
    // The variables' names only exist in the server's config template: the cluster's must all be read there.
    const templateFile = `.tools/temporal-${pinnedTemporalVersions().server}/config/docker.yaml`;
    if (!fs.existsSync(path.join(ROOT, templateFile))) {
      t.skip(`${templateFile} is not built yet (bash scripts/build-temporal-server.sh; .ci/run builds it first)`);
      return;
    }
    const template = read(templateFile);
    for (const key of Object.keys(cluster))
      assert.match(template, new RegExp(`env "${key}"`), `${key} is read by the template`);
  });

  test('the same dynamic config file', () => {
    assert.equal(compose.configs?.['temporal-dynamic-config']?.file, './deploy/temporal/dynamicconfig.yaml');
    assert.equal(
      path.relative(ROOT, path.resolve(ROOT, cluster.DYNAMIC_CONFIG_FILE_PATH!)),
      'deploy/temporal/dynamicconfig.yaml',
    );
    const mounted = (services.temporal as { configs?: { source: string; target: string }[] }).configs?.[0];
    assert.equal(mounted?.source, 'temporal-dynamic-config');
    assert.equal(mounted?.target, environmentOf(services.temporal!).DYNAMIC_CONFIG_FILE_PATH);
  });

  test('the same schema steps, on the same databases', () => {
    const commands = script(services['temporal-admin-tools']!);
    assert.match(commands, new RegExp(`--plugin ${TEMPORAL_SQL_PLUGIN}`));
    for (const db of Object.values(TEMPORAL_DATABASES)) assert.match(commands, new RegExp(`--db ${db} create`));
  });

  test('workers get the same grace period to finish before they are killed', () => {
    for (const name of workerServices) {
      assert.equal(
        (services[name] as { stop_grace_period?: string }).stop_grace_period,
        `${WORKER_STOP_GRACE_MS / 1000}s`,
        name,
      );
    }
  });

  test('the same namespace retention', () => {
    const retention = interpolate(environmentOf(services['temporal-create-namespace']!).RETENTION!);
    assert.equal(retention, `${DEFAULT_RETENTION_DAYS}d`);
  });

  test('the same task queues: a worker service for each queue the cluster runs processes for', () => {
    const composed = workerServices.map((name) => environmentOf(services[name]!).TEDI_WORKER_QUEUES).sort();
    const tested = [...new Set(clusterWorkers().map((w) => w.queues.join(',')))].sort();
    assert.deepEqual(composed, tested);
    assert.ok(
      clusterWorkers().some((w, i, all) => all.findIndex((o) => o.queues.join() === w.queues.join()) !== i),
      'the cluster runs two processes of one queue, as `--scale` does',
    );
  });
});
