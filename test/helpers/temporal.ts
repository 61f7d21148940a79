// Real Temporal servers for tests, from the pinned binaries in .tools/ (never downloaded):
// the CLI dev server for most tests, the Java time-skipping server where hours must pass.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporalCliPath, testServerPath } from '../../lib/infra/temporal-server';
import { installRuntime } from '../../lib/logging';
import { SEARCH_ATTRIBUTES } from '../../lib/search-attributes';
import { ensureSearchAttributes } from '../../operations/temporal/search-attributes-admin';

// Installed on first use rather than at import, so a test file can install it first with a metrics
// endpoint (test/monitoring). Tests print only warnings and errors from the SDK; failures stay readable.
function installTestRuntime(): void {
  installRuntime({ logLevel: process.env.LOG_LEVEL ?? 'warn' });
}

export async function startDevTemporal(): Promise<TestWorkflowEnvironment> {
  installTestRuntime();
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
  installTestRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: testServerPath() } },
  });
  // The test server has no start-up flag for search attributes; register them the way production does.
  await ensureSearchAttributes(env.connection, 'default');
  return env;
}
