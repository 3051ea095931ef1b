// The deploy engine behind both the action and `monitoring-deploy deploy`: one SSH connection,
// a sequence of named steps.
import { RemoteHost } from './connection/ssh.js';
import { DeployError } from './errors.js';
import { preflight, preflightProblems } from './host/preflight.js';
import type { Log } from './report/log.js';
import { Steps } from './report/steps.js';
import type { Settings } from './settings/settings.js';

export async function deploy(settings: Settings, log: Log): Promise<void> {
  const steps = new Steps(log);
  const { connection } = settings;
  const remote = await steps.run(
    `Connect to ${connection.username}@${connection.host}:${connection.port}`,
    async () => {
      const r = await RemoteHost.connect(connection);
      return { remote: r, detail: `host key ${r.hostKey.keyType} ${r.hostKey.fingerprint}` };
    },
  );
  try {
    await steps.run('Preflight', async () => {
      const facts = await preflight(remote.remote);
      const problems = preflightProblems(facts, connection.username);
      if (problems.length) throw new DeployError(`The host is not ready:\n  - ${problems.join('\n  - ')}`);
      return {
        detail: `${facts.os} ${facts.arch}, Docker ${facts.dockerServerVersion} (${facts.dockerAccess}), ${facts.compose?.command} ${facts.compose?.version}`,
      };
    });
    throw new DeployError('This build connects and runs the preflight only; the deploy steps are not supported yet.');
  } finally {
    remote.remote.close();
  }
}
