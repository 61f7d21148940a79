// npm run bench: every benchmark in turn, at sizes that finish in a few minutes on two cores.
// Each prints its own figures; pass larger sizes to a single bench for real-scale numbers, e.g.
//   npx tsx test/bench/faostat.bench.ts --rows 4200000
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const BENCHES: Array<[string, string[]]> = [
  ['load.bench.ts', ['--rows', '500000']],
  ['faostat.bench.ts', ['--rows', '1000000']],
  ['overpass.bench.ts', ['--buildings', '200000']],
  // P1, P4, store size through the real workflow; --rows 4209110 for QCL's real size.
  ['pipeline.bench.ts', ['--rows', '500000']],
  // ~21 MB and ~210 MB of CSV (10× apart, as 100 MB and 1 GB); --rows 900000,9000000 for the real sizes.
  ['worker-memory.bench.ts', ['--rows', '200000,2000000']],
  ['fanout.bench.ts', ['--versions', '10000', '--due', '1000']],
  // The production build: a compiled worker's start-up time and RSS beside `tsx workers/main.ts` (builds dist/).
  ['compiled-worker.bench.ts', ['--runs', '3']],
];

let failed = 0;
for (const [file, args] of BENCHES) {
  console.log(`\n== ${file} ${args.join(' ')}`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, file), ...args], {
    stdio: 'inherit',
  });
  if (run.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
