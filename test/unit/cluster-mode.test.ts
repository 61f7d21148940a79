// The cluster mode's own rules, each in the one place that decides it: the topology (two processes for one
// queue), the server's ports (below the smallint limit of its membership table), the variables it is
// started with (compose's, ports per machine) and what of them is written down (never the password).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pinnedTemporalVersions } from '../../lib/infra/cluster/temporal-binaries';
import {
  DEFAULT_TEMPORAL_PORTS,
  freeTemporalPorts,
  shownEnvironment,
  temporalServerEnvironment,
} from '../../lib/infra/cluster/temporal-server-process';
import { isPortFree } from '../../lib/infra/postgres';
import { TASK_QUEUES } from '../../lib/verticals';
import { WORKER_RESTART_DELAY_MS, WORKER_STOP_GRACE_MS } from '../../scripts/cluster/cluster';
import { clusterWorkers, PROCESSES_PER_QUEUE } from '../../scripts/cluster/topology';

describe('cluster topology', () => {
  test('one process per queue, two for agriculture, each named after its queue', () => {
    assert.deepEqual(
      clusterWorkers().map((w) => [w.name, w.queues.join()]),
      [
        ['worker-scheduler', 'scheduler'],
        ['worker-agriculture-1', 'agriculture'],
        ['worker-agriculture-2', 'agriculture'],
        ['worker-realestate', 'realestate'],
        ['worker-employment', 'employment'],
        ['worker-business', 'business'],
      ],
    );
    assert.deepEqual(Object.keys(PROCESSES_PER_QUEUE).sort(), [...TASK_QUEUES].sort());
  });

  test('a count of three names three processes', () => {
    const names = clusterWorkers({ ...PROCESSES_PER_QUEUE, business: 3 })
      .filter((w) => w.queues.includes('business'))
      .map((w) => w.name);
    assert.deepEqual(names, ['worker-business-1', 'worker-business-2', 'worker-business-3']);
  });
});

describe('Temporal server of the cluster mode', () => {
  test('free ports: distinct, free, below 32768 (membership ports are a smallint column)', async () => {
    for (let round = 0; round < 5; round++) {
      const ports = Object.values(await freeTemporalPorts());
      assert.equal(ports.length, Object.keys(DEFAULT_TEMPORAL_PORTS).length);
      assert.equal(new Set(ports).size, ports.length);
      for (const port of ports) {
        assert.ok(port >= 1024 && port <= 32767, `port ${port}`);
        assert.ok(await isPortFree(port), `port ${port} is free`);
      }
    }
  });

  test('the defaults are the config template’s: the frontend on 7233', () => {
    assert.equal(DEFAULT_TEMPORAL_PORTS.frontend, 7233);
    assert.ok(Object.values(DEFAULT_TEMPORAL_PORTS).every((p) => p <= 32767));
  });

  const env = temporalServerEnvironment({
    sql: { host: '127.0.0.1', port: 54330, user: 'postgres', password: 'pw-of-the-test' },
    ports: DEFAULT_TEMPORAL_PORTS,
    dynamicConfigFile: 'deploy/temporal/dynamicconfig.yaml',
  });

  test('PostgreSQL through the postgres12 plugin, on loopback, with the shared dynamic config', () => {
    assert.equal(env.DB, 'postgres12');
    assert.equal(env.POSTGRES_SEEDS, '127.0.0.1');
    assert.equal(env.DB_PORT, '54330');
    assert.equal(env.BIND_ON_IP, '127.0.0.1');
    assert.match(env.DYNAMIC_CONFIG_FILE_PATH!, /\/deploy\/temporal\/dynamicconfig\.yaml$/);
    assert.equal(env.FRONTEND_GRPC_PORT, '7233');
    assert.equal(env.PROMETHEUS_ENDPOINT, undefined, 'no metrics endpoint unless asked');
  });

  test('the environment written beside the log masks the password', () => {
    const shown = shownEnvironment(env, '1.30.1');
    assert.doesNotMatch(shown, /pw-of-the-test/);
    assert.match(shown, /^POSTGRES_PWD=\*\*\*$/m);
    assert.match(shown, /^DB=postgres12$/m);
  });

  test('versions pinned in deploy/temporal/versions.env', () => {
    const versions = pinnedTemporalVersions();
    assert.match(versions.server, /^\d+\.\d+\.\d+$/);
    assert.match(versions.ui, /^\d+\.\d+\.\d+$/);
  });
});

describe('the launcher', () => {
  test('a crashed worker is started again after 2 s; a stopping one gets 30 s (README, compose)', () => {
    assert.equal(WORKER_RESTART_DELAY_MS, 2_000);
    assert.equal(WORKER_STOP_GRACE_MS, 30_000);
  });
});
