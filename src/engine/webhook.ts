// The deploy's two Discord steps. Before anything changes: is the webhook alive, and can the host
// reach it (a dead one fails the deploy with the host left as it was; alerts would go nowhere).
// After a green gate, on request: one test notification through Grafana's contact point.
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';
import { listContainers } from '../health/containers.js';
import { dataPathOptions } from '../health/plan.js';
import type { RemoteLayout } from '../model/layout.js';
import { sendTestNotification } from '../notify/test-notification.js';
import { checkWebhookFromHost, webhookFailure } from '../notify/webhook.js';
import type { RenderedStack } from '../stack/render.js';
import { type OnHost, type Run, warn } from './session.js';

/** Grafana runs on this host and sends the alerts: only then is its webhook this host's business. */
function sendsAlerts(run: Run): boolean {
  return run.settings.stack.stacks.includes('monitoring');
}

export async function webhookStep(run: Run, remote: RemoteHost): Promise<void> {
  const { discordWebhookUrl: url, discordTestNotification } = run.settings.grafana;
  if (discordTestNotification && (!url || !sendsAlerts(run)))
    throw new DeployError(
      'discord-test-notification is on, but this deploy has no Discord contact point to test: it needs discord-webhook-url and the monitoring stack. Nothing was changed on the host.',
      'set discord-webhook-url (from a secret), or turn discord-test-notification off.',
    );
  if (!url || !sendsAlerts(run)) return;
  await run.steps.run('Discord webhook', async () => {
    const verdict = await checkWebhookFromHost(remote, url);
    if (!verdict.ok) throw webhookFailure(url, verdict);
    if (verdict.unsure) warn(run, `Discord webhook: ${verdict.detail}; the deploy goes on.`);
    return { detail: `${verdict.detail}, reached from the host` };
  });
}

interface Deployed extends OnHost {
  readonly layout: RemoteLayout;
  readonly rendered: RenderedStack;
}

export function testNotificationStep(h: Deployed, release: string): Promise<void> {
  return h.steps.run('Discord test notification', async () => {
    try {
      const containers = await listContainers(h.remote, h.facts, h.settings.stack.network);
      const address = containers.find((c) => c.service === 'grafana')?.address;
      if (!address) throw new DeployError('Grafana has no address on the network to ask for the test notification');
      const { grafana } = await dataPathOptions(h.remote, h.rendered, h.layout, h.settings.stack.logAgent, {
        canary: false,
        adminPassword: h.settings.grafana.adminPassword,
      });
      if (!grafana) throw new DeployError('this stack provisions no Grafana to send the test notification');
      const detail = await sendTestNotification(h.remote, { address, ...grafana }, h.settings.hostName, release);
      return { detail };
    } catch (e) {
      const err = e as DeployError;
      throw new DeployError(
        `${err.message.split('\nFix: ')[0]}\n\nThe release ${release} is deployed and passed its health gate: it stays (not rolled back).`,
        err.fix,
      );
    }
  });
}
