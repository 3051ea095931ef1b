// What the receiver's basic auth costs nginx per request, by hash: the real nginx on this machine
// (Debian's, which checks bcrypt through libxcrypt's crypt(3), as the receiver image's musl does)
// answers authenticated requests over one kept-alive connection, as an agent's Prometheus and
// Promtail send them, and the CPU time its one process spent is read from /proc. nginx keeps no
// cache of a checked password: every request hashes again.
//
//   node scripts/bench-receiver-auth.mjs [requests per hash]
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';

const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';
const REQUESTS = Number(process.argv[2] ?? 300);
const PASSWORD = 'bench-push-password-0123456789';
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function freePort() {
  return new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** utime + stime of a process, in milliseconds. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

function get(port, agent, auth) {
  return new Promise((res, rej) => {
    request({ host: '127.0.0.1', port, path: '/', agent, headers: { authorization: `Basic ${auth}` } }, (r) => {
      r.resume();
      r.on('end', () => res(r.statusCode));
    })
      .on('error', rej)
      .end();
  });
}

async function measure(name, htpasswdLine) {
  const dir = mkdtempSync(join(tmpdir(), 'md-auth-bench-'));
  const port = await freePort();
  writeFileSync(join(dir, 'htpasswd'), `agent:${htpasswdLine}\n`);
  // The receiver's auth as its nginx.conf has it; one process (no master) so that its CPU is the work.
  writeFileSync(
    join(dir, 'nginx.conf'),
    `pid ${dir}/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  error_log ${dir}/error.log warn;
  client_body_temp_path ${dir}/cb; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f;
  uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;
  server {
    listen 127.0.0.1:${port};
    auth_basic "bench";
    auth_basic_user_file ${dir}/htpasswd;
    location / { try_files /nothing-here =404; }
  }
}
`,
  );
  const nginx = spawn(NGINX, ['-p', `${dir}/`, '-c', `${dir}/nginx.conf`, '-g', 'daemon off; master_process off;'], {
    stdio: 'ignore',
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const auth = Buffer.from(`agent:${PASSWORD}`).toString('base64');
  try {
    for (let i = 0; i < 100; i++) {
      if ((await get(port, agent, auth).catch(() => 0)) === 404) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const before = cpuMs(nginx.pid);
    const started = performance.now();
    for (let i = 0; i < REQUESTS; i++) {
      const code = await get(port, agent, auth);
      if (code !== 404) throw new Error(`${name}: nginx answered ${code}, not 404 behind the auth`);
    }
    const wallMs = performance.now() - started;
    const perRequest = (cpuMs(nginx.pid) - before) / REQUESTS;
    return { name, perRequest, wallPerRequest: wallMs / REQUESTS };
  } finally {
    agent.destroy();
    nginx.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

function ssha(password) {
  const salt = randomBytes(8);
  return `{SSHA}${Buffer.concat([createHash('sha1').update(password).update(salt).digest(), salt]).toString('base64')}`;
}

const rows = [await measure('{SSHA} (before)', ssha(PASSWORD))];
for (const cost of [4, 5, 6, 8, 10])
  rows.push(await measure(`bcrypt cost ${cost}`, bcrypt.hashSync(PASSWORD, bcrypt.genSaltSync(cost))));

// An agent sends about 2 requests a second (a remote write and a Loki push); the receiver lets
// one address send 10 a second with bursts of 50 (what a password guesser gets).
console.log(`nginx ${NGINX}, ${REQUESTS} authenticated requests per hash over one kept-alive connection`);
console.log('HASH                CPU/REQUEST  1 AGENT (2/s)  10 AGENTS  GUESSER AT 10/s  OFFLINE GUESSES/S/CORE');
for (const r of rows) {
  const share = (perSecond) => `${((r.perRequest * perSecond) / 10).toFixed(2)}%`;
  console.log(
    [
      r.name.padEnd(19),
      `${r.perRequest.toFixed(2)} ms`.padEnd(12),
      share(2).padEnd(14),
      share(20).padEnd(10),
      share(10).padEnd(16),
      // What one core of this kind tries a second against a stolen htpasswd (a GPU: far more for SHA-1).
      String(Math.round(1000 / r.perRequest)),
    ].join(' '),
  );
}
console.log(
  '(% of one core. A t2.micro earns 10% of its vCPU as a baseline. Online guessing is bound by the rate limit,\n 864000 guesses a day per address whatever the hash; the hash slows only guesses against a stolen file.\n The {SSHA} row is bound by the request itself: SHA-1 alone runs millions a second on one core.)',
);
