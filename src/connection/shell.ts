// Remote shell commands: how a value is quoted, and how a script reaches the host's shell.
// Scripts are built by pure functions elsewhere and run through RemoteHost.run, the one place
// that checks the exit code and shapes the error.

/** Single-quotes a string for a POSIX shell. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * What `monitoring-deploy exec -- WORDS` asks the login shell to run. One word is a command line
 * the person wrote as one (`exec -- 'docker ps | head'`), kept as it is. Several are a command and
 * its arguments, as a program's argv: each is quoted, so that no argument is read by the shell
 * (`exec -- ls 'a b;id'` lists the one file "a b;id" and runs no `id`), as ssh would not do.
 */
export function execCommandLine(words: readonly string[]): string {
  return words.length === 1 ? (words[0] ?? '') : words.map(shq).join(' ');
}

/** Non-interactive SSH sessions get a short PATH; docker often lives in /usr/local/bin or /snap/bin. */
const PATH_SETUP = 'export PATH="$PATH:/usr/local/bin:/usr/sbin:/sbin:/snap/bin"';

/**
 * The command and stdin that run a script under the host's POSIX sh, whatever the login shell.
 * Without data the script itself goes on stdin (no argument length limit), so such a script
 * must not read stdin; with data, the script is the argument and the data its stdin. The script
 * is the body of a function called on the last line: a script cut off in transit is a syntax
 * error, never half of it run.
 */
export function invocation(script: string, data?: string): { command: string; stdin: string } {
  const body = `${PATH_SETUP}\nmain() {\n${script}\n}\nmain\n`;
  return data === undefined ? { command: 'sh -s', stdin: body } : { command: `sh -c ${shq(body)}`, stdin: data };
}

/** The last lines a failed command printed, for an error message. */
export function outputTail(stdout: string, stderr: string, lines = 15): string {
  return (stderr.trim() || stdout.trim()).split('\n').slice(-lines).join('\n');
}

/**
 * Runs parts of a script at once, each in its own subshell (one part's `cd` or `exit` never
 * reaches another), and prints their output in the order given: reading a host's state is
 * mostly waiting on Docker, and its questions do not wait on each other.
 */
export function inParallel(parts: readonly string[]): string {
  const t = '"$md_parts"';
  return [
    `md_parts=$(mktemp -d) || exit 1`,
    ...parts.map((part, i) => `(\n${part}\n) > ${t}/${i} &`),
    'wait',
    parts.map((_, i) => `cat ${t}/${i}`).join('; '),
    `rm -rf ${t}`,
  ].join('\n');
}
