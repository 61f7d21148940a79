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
    () => loadConfig({ TEMPORAL_ADDRESS: 'localhost', TEDI_SECRET_KEY: 'short', DATABASE_URL: 'mysql://x' }),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /TEMPORAL_ADDRESS="localhost": must be host:port/);
      assert.match(err.message, /TEDI_SECRET_KEY="short": must be 64 hex characters .*openssl rand -hex 32/);
      assert.match(err.message, /DATABASE_URL="mysql:\/\/x": must be a postgres:\/\//);
      return true;
    },
  );
});

test('empty strings count as unset', () => {
  assert.equal(loadConfig({ DATABASE_URL: '' }).DATABASE_URL, undefined);
});
