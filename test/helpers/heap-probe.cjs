// A heap probe for a child process, preloaded with `node --expose-gc --require test/helpers/heap-probe.cjs`
// (see heap-probe.ts). Every 25 ms it collects garbage and samples what is live: heapUsed, and heapUsed +
// arrayBuffers (Buffers and ArrayBuffers live outside the JS heap, so a body buffered as bytes shows only
// in the second). It keeps the peaks. On SIGUSR2 (a mark) and at exit it writes the peaks since the last
// mark and the live sizes now to HEAP_PROBE_FILE (written aside and renamed: never read half-written), and
// a mark starts the next peaks from now.
const fs = require('node:fs');

const file = process.env.HEAP_PROBE_FILE;
if (!file) throw new Error('heap-probe.cjs needs HEAP_PROBE_FILE');
if (typeof global.gc !== 'function') throw new Error('heap-probe.cjs needs node --expose-gc');

const live = () => {
  global.gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, live: m.heapUsed + m.arrayBuffers };
};
let now = live();
let peakHeap = now.heap;
let peakLive = now.live;
const sample = () => {
  now = live();
  peakHeap = Math.max(peakHeap, now.heap);
  peakLive = Math.max(peakLive, now.live);
};
const report = () => {
  sample();
  fs.writeFileSync(`${file}.part`, JSON.stringify({ peakHeap, peakLive, heap: now.heap, live: now.live }));
  fs.renameSync(`${file}.part`, file);
};
setInterval(sample, 25).unref();
process.on('SIGUSR2', () => {
  report();
  peakHeap = now.heap;
  peakLive = now.live;
});
process.on('exit', report);
