// npm run tedi -- <command> [options]: the operator's command line (see `npm run tedi -- --help`).
import { runCli } from './cli/program';

// `tedi logs | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

runCli(process.argv).then(
  // Exit at once: a client library's idle timer must not keep a finished command waiting.
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
