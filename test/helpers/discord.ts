// The sandbox's Discord stand-in (test/sandbox/images/discord): a container on the host's network,
// HTTPS at the Docker bridge's gateway address, which the host reaches as itself and the stack's
// containers through their gateway. Its CA is what a deploy must trust (NODE_EXTRA_CA_CERTS).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sandbox } from './sandbox';

const CONTAINER = 'md-discord-standin';

const sh = (cmd: string) =>
  execFileSync('sh', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

export interface FakeDiscord {
  /** https://<gateway>:<port>: a webhook's URL is base/api/webhooks/<id>/<token>. */
  readonly base: string;
  /** The CA file that signed its certificate. */
  readonly caFile: string;
  /** Every POST it accepted. */
  messages(): Promise<{ id: string; body: { content?: string; embeds?: { title?: string }[] } }[]>;
  stop(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '0.0.0.0', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca, timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

/** Starts the stand-in with these webhooks (id → token); stop() removes it. */
export async function startFakeDiscord(s: Sandbox, webhooks: Record<string, string>): Promise<FakeDiscord> {
  const extra = existsSync(`${s.dir}/extra-images.txt`) ? readFileSync(`${s.dir}/extra-images.txt`, 'utf8') : '';
  const image = /^discord=(.+)$/m.exec(extra)?.[1]?.trim();
  if (!image) throw new Error('the sandbox has no discord= image line (test/sandbox/build-images.sh makes it)');
  const env = sh(`docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' ${image}`);
  const gateway = /^SANDBOX_GATEWAY=(.+)$/m.exec(env)?.[1];
  if (!gateway) throw new Error(`${image} names no SANDBOX_GATEWAY`);
  const caFile = join(mkdtempSync(join(tmpdir(), 'md-discord-')), 'ca.pem');
  writeFileSync(caFile, sh(`docker run --rm --entrypoint cat ${image} /standin/ca.pem`));
  const ca = readFileSync(caFile, 'utf8');
  const port = await freePort();
  const list = Object.entries(webhooks)
    .map(([id, token]) => `${id}:${token}:alerts`)
    .join(',');
  sh(`docker rm -f ${CONTAINER} >/dev/null 2>&1 || true`);
  sh(`docker run -d --name ${CONTAINER} --network host -e PORT=${port} -e WEBHOOKS=${list} ${image}`);
  const base = `https://${gateway}:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const up = await get(`${base}/__sandbox/messages`, ca).catch(() => undefined);
    if (up?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`the Discord stand-in did not answer at ${base}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    base,
    caFile,
    messages: async () => JSON.parse((await get(`${base}/__sandbox/messages`, ca)).body),
    stop: () => sh(`docker rm -f ${CONTAINER} >/dev/null 2>&1 || true`),
  };
}
