// Secrets never appear in stdout, stderr, the job summary, the outputs, or a world-readable
// file on the host: a full deploy with recognisable secret values, then a search everywhere.
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployWithAction, sandboxInputs, sh } from '../helpers/deploy';
import { type FakeDiscord, startFakeDiscord } from '../helpers/discord';
import { loadSandbox, type Sandbox } from '../helpers/sandbox';

let s: Sandbox;
// The deploy asks the webhook whether it exists: a live one, at the sandbox's Discord stand-in.
let discord: FakeDiscord;
let WEBHOOK = '';
beforeAll(async () => {
  s = loadSandbox();
  discord = await startFakeDiscord(s, { '1234567890': 'Webhook-Secret-9c2e41' });
  WEBHOOK = `${discord.base}/api/webhooks/1234567890/Webhook-Secret-9c2e41`;
}, 60_000);
afterAll(() => discord?.stop());

const GRAFANA_PASSWORD = 'Grafana-Secret-7f3a9c';

/** Lines that show a secret, other than the ::add-mask:: commands that tell the runner to hide it. */
function leaks(text: string, secrets: readonly string[]): string[] {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .filter((l) => secrets.some((sec) => l.includes(sec)));
}

describe('secrets', () => {
  it('a full deploy and a failing one print no secret anywhere', async () => {
    const marker = join(tmpdir(), `md-secrets-${Date.now()}`);
    writeFileSync(marker, '');
    const keyLines = s.keyWithPassphrase.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));
    const secrets = [GRAFANA_PASSWORD, WEBHOOK, 'Webhook-Secret-9c2e41', s.passphrase, ...keyLines];
    const inputs = sandboxInputs(s, {
      'ssh-key': s.keyWithPassphrase,
      'ssh-key-passphrase': s.passphrase,
      'grafana-admin-password': GRAFANA_PASSWORD,
      'discord-webhook-url': WEBHOOK,
    });
    const ok = await deployWithAction(inputs, { NODE_EXTRA_CA_CERTS: discord.caFile });
    expect(ok.code).toBe(0);
    // A failure path too: the gate fails (metrics path broken) with rollback and logs printed.
    const bad = await deployWithAction(
      { ...inputs, 'app-metrics-path': '/nope', 'health-timeout': '25s' },
      { NODE_EXTRA_CA_CERTS: discord.caFile },
    );
    expect(bad.code).toBe(1);
    // The runner is told to mask every secret and every line of the key.
    for (const sec of [GRAFANA_PASSWORD, WEBHOOK, s.passphrase, ...keyLines]) {
      expect(ok.stdout).toContain(`::add-mask::${sec}`);
    }
    for (const r of [ok, bad]) {
      expect(leaks(r.stdout, secrets)).toEqual([]);
      expect(leaks(r.stderr, secrets)).toEqual([]);
      expect(leaks(r.summary, secrets)).toEqual([]);
      expect(leaks(JSON.stringify(r.outputs), secrets)).toEqual([]);
    }
    // On the host: the secrets are in mode-600 files only; no world-readable file written
    // since the test began holds one (docker's own state included).
    expect(
      sh(
        `stat -c '%a' ${s.home}/monitoring/secrets/grafana_admin_password ${s.home}/monitoring/secrets/discord_webhook_url`,
      ),
    ).toBe('600\n600');
    expect(readFileSync(`${s.home}/monitoring/secrets/discord_webhook_url`, 'utf8')).toBe(WEBHOOK);
    const worldReadable = sh(
      `find /home /tmp /var/tmp /etc /var/lib/docker/containers -xdev -type f -perm -004 -newer ${marker} -size -2M 2>/dev/null | grep -v '^${marker}$' || true`,
    )
      .split('\n')
      .filter(Boolean);
    expect(worldReadable.length).toBeGreaterThan(0); // the search looks at real files
    const holding = worldReadable.filter((f) => {
      let text = '';
      try {
        text = readFileSync(f, 'latin1');
      } catch {
        return false; // gone since the search (another program's temporary file)
      }
      return secrets.some((sec) => text.includes(sec));
    });
    expect(holding).toEqual([]);
    // Grafana gets the password and webhook as files, not environment variables.
    expect(sh("docker inspect -f '{{json .Config.Env}}' grafana")).not.toContain(GRAFANA_PASSWORD);
    expect(sh("docker inspect -f '{{json .Config.Env}}' grafana")).toContain('GF_SECURITY_ADMIN_PASSWORD__FILE');
  });
});
