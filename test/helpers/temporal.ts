// Real Temporal servers for tests, from the pinned binaries in .tools/ (never downloaded):
// the CLI dev server for most tests, the Java time-skipping server where hours must pass.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporalCliPath, testServerPath } from '../../lib/infra/temporal-server';
import { installJsonLogging } from '../../lib/logging';
import { ensureSearchAttributes } from '../../lib/temporal/search-attributes-admin';
import { SEARCH_ATTRIBUTES } from '../../lib/search-attributes';

// Tests print only warnings and errors from the SDK; failures stay readable.
installJsonLogging(process.env.LOG_LEVEL ?? 'warn');

export async function startDevTemporal(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCliPath() },
      ip: '127.0.0.1',
      searchAttributes: SEARCH_ATTRIBUTES,
      log: { format: 'pretty', level: 'error' },
    },
  });
}

export async function startTimeSkippingTemporal(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: testServerPath() } },
  });
  // The test server has no start-up flag for search attributes; register them the way production does.
  await ensureSearchAttributes(env.connection, 'default');
  return env;
}
