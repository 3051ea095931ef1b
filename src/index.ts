import { run } from './action/main.js';

// A job that ends without reaching a verdict must not pass: run() sets 0 on success.
process.exitCode = 1;

void run();
