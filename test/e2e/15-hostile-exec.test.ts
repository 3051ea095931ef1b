// Issue 25, finding 12, on the sandbox host through the built CLI: the words after `exec --` reach
// the login user's shell over the real sshd each as one argument; a single word is a shell line.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/dist';
import { connectionFlags, keyEnv, loadSandbox } from '../helpers/sandbox';

const sandbox = loadSandbox();
const exec = (...words: string[]) => runCli(['exec', ...connectionFlags(sandbox), '--', ...words], keyEnv(sandbox));

describe('exec on the sandbox host (dist/cli.js)', () => {
  it("ls 'a b;id' lists the one file of that name and runs no id", async () => {
    const dir = `/tmp/md-hostile-exec-${process.pid}`;
    expect((await exec('mkdir', '-p', dir)).code).toBe(0);
    expect((await exec('touch', `${dir}/a b;id`)).code).toBe(0);
    const r = await exec('ls', `${dir}/a b;id`);
    expect(r.stdout).toBe(`${dir}/a b;id\n`);
    expect(r.stdout).not.toMatch(/uid=/);
    expect(r.code).toBe(0);
    expect((await exec('rm', '-rf', dir)).code).toBe(0);
  });

  it('words with $( ), backquotes and quotes arrive as written', async () => {
    const words = ['$(id)', '`id`', "it's", '"q"', '*', ''];
    const r = await exec('printf', '[%s]\\n', ...words);
    expect(r.stdout).toBe(words.map((w) => `[${w}]\n`).join(''));
  });

  it('one word is still a shell line', async () => {
    const r = await exec('echo one; echo two | tr a-z A-Z');
    expect(r.stdout).toBe('one\nTWO\n');
  });
});
