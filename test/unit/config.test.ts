import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../lib/config';

test('defaults need no environment at all', () => {
  const config = loadConfig({});
  assert.equal(config.DATABASE_URL, undefined);
  assert.equal(config.TEMPORAL_ADDRESS, undefined);
  assert.equal(config.TEDI_MASTER_INTERVAL, '6h');
  assert.equal(config.TEDI_LOG_RETENTION_DAYS, 90);
  assert.equal(config.TEDI_WB_COUNTRIES, 'BJ');
});

test('numbers arrive as strings and are coerced', () => {
  const config = loadConfig({ TEDI_LOG_RETENTION_DAYS: '30', TEMPORAL_UI_PORT: '9000' });
  assert.equal(config.TEDI_LOG_RETENTION_DAYS, 30);
  assert.equal(config.TEMPORAL_UI_PORT, 9000);
});

test('a bad value names the variable and the fix', () => {
  assert.throws(
    () => loadConfig({ TEMPORAL_ADDRESS: 'localhost', DATABASE_URL: 'mysql://x' }),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /TEMPORAL_ADDRESS="localhost": must be host:port/);
      assert.match(err.message, /DATABASE_URL="mysql:\/\/x": must be a postgres:\/\//);
      return true;
    },
  );
});

// Assertions below never print the message: if it held the secret, the test output would too.
test('a bad TEDI_SECRET_KEY is named with what is wrong and the fix, never its value', () => {
  const bad = {
    'too short': 'c0ffee00deadbeef1234',
    'not hex': 'zz'.repeat(32),
    'too long': 'ab'.repeat(40),
  };
  for (const [what, value] of Object.entries(bad)) {
    assert.throws(
      () => loadConfig({ TEDI_SECRET_KEY: value }),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.ok(!err.message.includes(value), `${what}: the message contains the key`);
        assert.ok(!err.message.includes(value.slice(0, 8)), `${what}: the message contains part of the key`);
        assert.ok(err.message.includes('TEDI_SECRET_KEY'), `${what}: the variable is not named`);
        assert.ok(err.message.includes(`${value.length} characters`), `${what}: the length is not given`);
        assert.ok(/must be 64 hex characters .*openssl rand -hex 32/.test(err.message), `${what}: no fix given`);
        return true;
      },
    );
  }
  assert.throws(
    () => loadConfig({ TEDI_SECRET_KEY: 'zz'.repeat(32) }),
    (err: Error) => /\b64 characters, not hex\b/.test(err.message),
  );
});

test('a bad DATABASE_URL is shown with its password masked', () => {
  const password = 'hunter2-secret/with@at';
  for (const url of [`mysql://tedi:${password}@db.internal:3306/tedi`, `postgress://tedi:${password}@db:5432/x`]) {
    assert.throws(
      () => loadConfig({ DATABASE_URL: url }),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.ok(!err.message.includes('hunter2'), 'the message contains the password');
        assert.ok(err.message.includes('DATABASE_URL='), 'the variable is not named');
        assert.ok(err.message.includes('tedi:***@'), 'the user and the mask are not shown');
        assert.ok(err.message.includes('must be a postgres:// or postgresql:// connection URL'), 'no fix given');
        return true;
      },
    );
  }
});

test('empty strings count as unset', () => {
  assert.equal(loadConfig({ DATABASE_URL: '' }).DATABASE_URL, undefined);
});

test('the read API listens on loopback by default; a bad host or port names its variable', () => {
  const config = loadConfig({});
  assert.equal(config.TEDI_API_HOST, '127.0.0.1');
  assert.equal(config.TEDI_API_PORT, 8088);
  assert.equal(loadConfig({ TEDI_API_HOST: '0.0.0.0', TEDI_API_PORT: '9090' }).TEDI_API_PORT, 9090);
  assert.throws(
    () => loadConfig({ TEDI_API_HOST: 'http://x', TEDI_API_PORT: '70000' }),
    (err: Error) => {
      assert.match(err.message, /TEDI_API_HOST="http:\/\/x": must be a host name or IP address/);
      assert.match(err.message, /TEDI_API_PORT="70000"/);
      return true;
    },
  );
});

test('the API admin token: unset by default, at least 24 characters, and never printed when refused', () => {
  assert.equal(loadConfig({}).TEDI_API_ADMIN_TOKEN, undefined);
  const ok = 'a'.repeat(24);
  assert.equal(loadConfig({ TEDI_API_ADMIN_TOKEN: ok }).TEDI_API_ADMIN_TOKEN, ok);
  const short = 'secret-token-23-chars-x';
  assert.equal(short.length, 23);
  assert.throws(
    () => loadConfig({ TEDI_API_ADMIN_TOKEN: short }),
    (err: Error) => {
      assert.match(err.message, /TEDI_API_ADMIN_TOKEN/);
      assert.match(err.message, /at least 24 characters/);
      assert.ok(!err.message.includes(short), 'the refused token is not echoed');
      return true;
    },
  );
});
