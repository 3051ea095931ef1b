// Where things live on the host, under the remote directory. Data and logs live outside the
// files a deploy replaces, so that no deploy or rollback can lose them.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';

export const COMPOSE_FILES = {
  app: 'docker-compose-dev.yml',
  monitoring: 'docker-compose-dev-monitoring.yml',
  agent: 'docker-compose-agent.yml',
} as const;

export type StackKey = keyof typeof COMPOSE_FILES;

/** The stack a compose file belongs to (the app's for a file that is none of ours). */
export function stackOfComposeFile(file: string): StackKey {
  return (Object.keys(COMPOSE_FILES) as StackKey[]).find((k) => COMPOSE_FILES[k] === file) ?? 'app';
}

/** Compose project names: distinct, so that --remove-orphans in one never removes the other. */
export const PROJECT_NAMES: Record<StackKey, string> = {
  app: 'md-app',
  monitoring: 'md-monitoring',
  agent: 'md-agent',
};

export interface RemoteLayout {
  readonly root: string;
  readonly dataDir: string;
  readonly logsDir: string;
  readonly secretsDir: string;
  /**
   * The deploy lock's name, keyed by the remote dir: the lock lives in the login user's own
   * ~/.monitoring-deploy (mode 700), so taking it changes nothing in the stack's directory.
   */
  readonly lockName: string;
}

/** Resolves `~` against the login user's home: remote commands get absolute paths. */
export function remoteLayout(remoteDir: string, home: string): RemoteLayout {
  const root = remoteDir === '~' ? home : remoteDir.startsWith('~/') ? posix.join(home, remoteDir.slice(2)) : remoteDir;
  return {
    root,
    dataDir: posix.join(root, 'data'),
    logsDir: posix.join(root, 'logs'),
    secretsDir: posix.join(root, 'secrets'),
    lockName: `deploy-${createHash('sha256').update(root).digest('hex').slice(0, 12)}`,
  };
}

/** The deploy's own bookkeeping in the remote dir: no stack file may have these names. */
export const MANIFEST = '.manifest';
export const RELEASE_FILE = '.release';
export const STAGING = '.staging';
export const RELEASES = '.releases';
export const UP_RELEASE = '.up-release';
export const RESERVED_NAMES: readonly string[] = [
  MANIFEST,
  RELEASE_FILE,
  `${RELEASE_FILE}.previous`,
  STAGING,
  RELEASES,
  UP_RELEASE,
];

/** Files the deploy writes from secret inputs or makes on the host (mode 600), relative to the remote dir. */
export const SECRET_FILES = {
  grafanaAdminPassword: 'secrets/grafana_admin_password',
  /** Made on the host once and kept: Grafana encrypts the secrets in its database with it. */
  grafanaSecretKey: 'secrets/grafana_secret_key',
  discordWebhookUrl: 'secrets/discord_webhook_url',
  pushPassword: 'secrets/push_password',
} as const;

/** Override file that sets the `images` input's images for one stack's services. */
export function imagesOverrideFile(stack: StackKey): string {
  return COMPOSE_FILES[stack].replace(/\.yml$/, '.images.yml');
}
