// The last step of `npm run build`, run as compiled JavaScript (node dist/scripts/build-workflow-bundle.js):
// bundles dist/workflows — the compiled workflows that dist/ runs — into dist/workflow-bundle.js, which the
// compiled workers load instead of bundling at every start (workers/create-workers.ts, workflowBundle()).
import fs from 'node:fs';
import path from 'node:path';
import { PREBUILT_BUNDLE, writeWorkflowBundle } from '../workers/create-workers';

async function main(): Promise<void> {
  if (path.extname(__filename) !== '.js') {
    throw new Error('build-workflow-bundle runs from the compiled output: use `npm run build`.');
  }
  const started = performance.now();
  // Written beside, then renamed: a failed build never leaves a half-written bundle for the workers.
  const partial = `${PREBUILT_BUNDLE}.partial`;
  await writeWorkflowBundle(partial);
  fs.renameSync(partial, PREBUILT_BUNDLE);
  const kb = (fs.statSync(PREBUILT_BUNDLE).size / 1024).toFixed(0);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`[tedi] wrote ${path.relative(process.cwd(), PREBUILT_BUNDLE)} (${kb} KiB) in ${seconds} s`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
