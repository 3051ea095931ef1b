// Issue 25, finding 1: text from the host or an endpoint cannot inject GitHub workflow commands.
// The runner reads each line of a step's output (split at CR, LF or CRLF: .NET's
// StreamReader.ReadLine in src/Runner.Sdk/ProcessInvoker.cs) and takes it as a command when,
// after leading whitespace (.NET's TrimStart: char.IsWhiteSpace, U+0085 included), it starts
// with "::", or when it holds "##[" anywhere (src/Runner.Common/ActionCommand.cs, TryParseV2 and
// TryParse, actions/runner at 258d6c8). `runnerCommands` below is that reading.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { actionLog } from '../../src/action/main';
import { firstLine, oneLine } from '../../src/base/format';
import { withoutWorkflowCommands } from '../../src/base/log';
import { STDERR } from '../../src/cli/log';
import { answerWords } from '../../src/connection/http';
import { DeployError } from '../../src/errors';
import { metricsArrival, type QueryEndpoint } from '../../src/health/arrival';
import { poll } from '../../src/health/poll';
import { direct } from '../helpers/direct';

/** The lines of a step's output the runner would take as workflow commands. */
function runnerCommands(output: string): string[] {
  return output
    .split(/\r\n|\r|\n/)
    .filter((line) => line.replace(/^[\s\u0085]+/, '').startsWith('::') || line.includes('##['));
}

/** What an endpoint could answer: commands on lines of their own, after LF, CR and CRLF. */
const HOSTILE =
  'oops\n::set-output name=x::y\r::warning::pwn\r\n  ::add-mask::x\n\u0085::stop-commands::tok\nsay ##[error]old form';

describe('the runner model', () => {
  it('finds every form of command in the hostile body, and none in plain text', () => {
    expect(runnerCommands(HOSTILE)).toEqual([
      '::set-output name=x::y',
      '::warning::pwn',
      '  ::add-mask::x',
      '\u0085::stop-commands::tok',
      'say ##[error]old form',
    ]);
    expect(runnerCommands('a line\nFix: do this\n  waiting (1.0s): ok')).toEqual([]);
  });
});

describe('withoutWorkflowCommands', () => {
  it('leaves no line the runner takes as a command, and keeps every word', () => {
    const safe = withoutWorkflowCommands(HOSTILE);
    expect(runnerCommands(safe)).toEqual([]);
    expect(safe.split('\n')).toEqual([
      'oops',
      '\\::set-output name=x::y',
      '\\::warning::pwn',
      '  \\::add-mask::x',
      '\u0085\\::stop-commands::tok',
      'say #\\#[error]old form',
    ]);
  });

  it('leaves our own lines as they are, several of them too', () => {
    const ours =
      'The host is not ready; nothing was changed:\n  - no Docker\nFix: install Docker. See http://[::1]:3000';
    expect(withoutWorkflowCommands(ours)).toBe(ours);
  });
});

describe('one-line quotes of outside text', () => {
  it('oneLine: CR, LF and other control characters become spaces; long text is cut', () => {
    expect(oneLine(HOSTILE, 500)).not.toMatch(/[\r\n\u0085]/);
    expect(oneLine('a\r\n\tb\u0000c', 10)).toBe('a b c');
    expect(oneLine('x'.repeat(30), 10)).toBe(`${'x'.repeat(10)}…`);
  });

  it('firstLine and answerWords end a line at CR too (a CR starts a new line for the runner)', () => {
    expect(firstLine('\n\nbad gateway\r::warning::pwn', 120)).toBe('bad gateway');
    expect(answerWords(502, 'upstream down\r::set-output name=x::y')).toBe('502 Bad Gateway: upstream down');
  });
});

/** A metrics query URL that answers what `answers` says for its path. */
let server: Server;
let base = '';
const answers: Record<string, { status: number; body: string }> = {
  '/not-json/api/v1/query': { status: 200, body: HOSTILE },
  '/refused/api/v1/query': { status: 500, body: `\r${HOSTILE}` },
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const answer = answers[new URL(req.url ?? '/', 'http://x').pathname] ?? { status: 404, body: 'no' };
    res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

const endpoint = (path: string): QueryEndpoint => ({
  url: `${base}${path}/api/v1/query`,
  credentials: { username: 'reader', password: 'pw-for-test', from: 'query-username / query-password' },
});

/** Everything written to stdout or stderr while fn runs (what the runner reads of a step). */
async function printed(fn: () => Promise<void> | void): Promise<string> {
  let out = '';
  const capture = (chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  };
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    await fn();
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return out;
}

afterEach(() => vi.restoreAllMocks());

describe('an endpoint that answers workflow commands, through the code that quotes it', () => {
  it('a 200 that is not JSON: the detail is one line that holds the body', async () => {
    const r = await metricsArrival(direct, 'agent1', endpoint('/not-json'), []);
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('answered 200, but not as a Prometheus query API does: oops ::set-output name=x::y');
    expect(r.detail).not.toMatch(/[\r\n]/);
  });

  it('a 500: the detail is one line', async () => {
    const r = await metricsArrival(direct, 'agent1', endpoint('/refused'), []);
    expect(r.detail).toBe(`${base}/refused/api/v1/query answered 500 Internal Server Error: oops`);
  });

  it("the action's log: waiting lines, a multi-line error quoting the host, a warning — no injected command", async () => {
    const log = actionLog(['pw-for-test']);
    const out = await printed(async () => {
      await poll({
        timeoutMs: 50,
        firstDelayMs: 10,
        log,
        look: () => metricsArrival(direct, 'agent1', endpoint('/not-json'), []),
        done: () => false,
        failed: (e) => ({ ok: false, detail: e.message }),
        waiting: (seen) => seen.detail,
      });
      // A remote command's output as the error of a step quotes it, line by line.
      log.info(new DeployError(`Creating the network failed (exit 1):\n${HOSTILE}`, 'check the host.').message);
      log.warn(`the host said: ${HOSTILE}`);
    });
    expect(out).toMatch(/^ {2}waiting \(\d+ms\): .*answered 200, but not as a Prometheus query API does: oops/m);
    expect(out).toMatch(/^Fix: check the host\.$/m);
    // The one command left is the warning core.warning issues itself, its line breaks escaped.
    const escaped = HOSTILE.replace(/\r/g, '%0D').replace(/\n/g, '%0A');
    expect(runnerCommands(out)).toEqual([`::warning::the host said: ${escaped}`]);
  });

  it("the CLI's plain log (a CLI run in a workflow step is read by the runner too)", async () => {
    const out = await printed(() => {
      STDERR.info(`waiting: ${HOSTILE}`);
      STDERR.warn(HOSTILE);
      STDERR.error(HOSTILE);
    });
    expect(out.split('\n').length).toBeGreaterThan(10);
    expect(runnerCommands(out)).toEqual([]);
  });

  it('a secret is redacted before the line is made safe (a backslash inside would hide it from the redactor)', async () => {
    const secret = '::secret-value-1234';
    const out = await printed(() => actionLog([secret]).info(`line\n${secret}\nend`));
    expect(out).not.toContain('secret-value-1234');
    expect(out).toContain('***');
  });
});
