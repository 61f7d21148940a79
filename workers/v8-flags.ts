// V8 settings for worker processes, applied on import, before anything compiles WebAssembly: import this
// module first (workers/main.ts, workers/application.ts).
//
// --liftoff-only: Prisma's query compiler is a ~3.4 MB WebAssembly module. By default V8 compiles it with
// its baseline compiler (Liftoff) and then again, function by function, with its optimizing one
// (TurboFan); the second pass cost a worker ~50-65 MB of RSS for good and made no query faster (500
// small Prisma queries: 300-520 ms with both tiers, 300-311 ms Liftoff only, measured on this machine).
// Prisma only does the small bookkeeping queries here; the bulk paths use `pg` directly. The flag is
// read when a module is compiled, so it must be set before the first Prisma query.
import v8 from 'node:v8';

v8.setFlagsFromString('--liftoff-only');
