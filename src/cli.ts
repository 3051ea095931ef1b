import { main } from './cli/main.js';

// If the run ends without reaching a verdict (a promise that never settles), it failed.
process.exitCode = 1;

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  },
);
