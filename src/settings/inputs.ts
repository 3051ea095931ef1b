// The action's whole interface in one place. action.yml, the CLI's flags and the README's table
// are checked against this list by tests, so the three cannot drift apart.
import { DEFAULT_LOG_AGENT, LOG_AGENTS } from '../base/log-agents.js';

export type InputGroup = 'run' | 'connection' | 'stack' | 'agents' | 'grafana' | 'host' | 'gate' | 'notify' | 'backup';

export interface InputSpec {
  readonly name: string;
  readonly group: InputGroup;
  readonly description: string;
  /** The default as action.yml declares it; undefined when the input has none. */
  readonly default?: string;
  readonly required?: boolean;
  readonly secret?: boolean;
}

export const INPUTS: readonly InputSpec[] = [
  // run
  {
    name: 'command',
    group: 'run',
    default: 'deploy',
    description:
      "deploy; check: connect, run the read-only preflight and the health gate (a watchdog): it changes nothing but its own canary log lines and its note of the containers it saw; backup: an encrypted archive of Grafana's data, the secrets the stack made, .env and the live release id (backup-key, backup-path); restore: put such an archive on a host (restore-from), then deploy as usual.",
  },
  // connection
  {
    name: 'host',
    group: 'connection',
    description: 'Address of the server to deploy to. Required, unless the hosts input names several.',
  },
  { name: 'port', group: 'connection', default: '22', description: 'SSH port.' },
  { name: 'username', group: 'connection', required: true, description: 'SSH login user (e.g. ec2-user, ubuntu).' },
  {
    name: 'ssh-key',
    group: 'connection',
    required: true,
    secret: true,
    description: 'Private key (OpenSSH or PEM text) for the login user. Pass it from a secret.',
  },
  {
    name: 'ssh-key-passphrase',
    group: 'connection',
    secret: true,
    description: 'Passphrase of ssh-key, if it has one. Pass it from a secret.',
  },
  {
    name: 'host-fingerprint',
    group: 'connection',
    description:
      'Expected host key fingerprint(s), `SHA256:…`, one per line or comma-separated. Get it from a trusted machine: `ssh-keyscan HOST | ssh-keygen -lf -`. Not together with known-hosts; with the hosts input it pins the one line without `fingerprint=`.',
  },
  {
    name: 'known-hosts',
    group: 'connection',
    description:
      "known_hosts lines for the host (plain or hashed; `[host]:port` for a non-22 port). Not together with host-fingerprint; its `@revoked` lines apply to hosts lines' `fingerprint=` too.",
  },
  {
    name: 'insecure-skip-host-key-check',
    group: 'connection',
    default: 'false',
    description: 'Accept any host key. Only for throwaway hosts: it allows a man in the middle.',
  },
  {
    name: 'host-name',
    group: 'connection',
    description:
      'Name of this host in the `host` label of its metrics and logs, in messages and in the summary. Default: host.',
  },
  {
    name: 'connect-timeout',
    group: 'connection',
    default: '30s',
    description:
      'How long to keep trying to reach the host over SSH (e.g. 30s, 2m): a refused or timed-out connection, a reset during key exchange or a banner that does not come (a host still booting) is tried again with backoff until then, each try in the log; a wrong host key, a refused key or user never is.',
  },
  {
    name: 'proxy-jump',
    group: 'connection',
    description:
      "A jump host (bastion) to reach the host through, as OpenSSH's ProxyJump: `[user@]bastion[:port]` (user default: username). Its host key is pinned with proxy-jump-fingerprint or known-hosts lines for it.",
  },
  {
    name: 'proxy-jump-ssh-key',
    group: 'connection',
    secret: true,
    description: 'Private key for the jump host. Default: ssh-key. Pass it from a secret.',
  },
  {
    name: 'proxy-jump-ssh-key-passphrase',
    group: 'connection',
    secret: true,
    description: 'Passphrase of proxy-jump-ssh-key, if it has one. Pass it from a secret.',
  },
  {
    name: 'proxy-jump-fingerprint',
    group: 'connection',
    description:
      "Expected host key fingerprint(s) of the jump host, `SHA256:…` (as host-fingerprint is for the host). Without it, known-hosts must hold a line for the jump host; a jump host's key is checked as strictly as the host's.",
  },
  {
    name: 'proxy-command',
    group: 'connection',
    description:
      "A command that carries the SSH connection on its stdin and stdout, as OpenSSH's ProxyCommand (run by sh -c; %h host, %p port, %r user, %% a %). E.g. AWS Systems Manager: `aws ssm start-session --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p`. The host key is still pinned and checked.",
  },
  // stack
  {
    name: 'stack-dir',
    group: 'stack',
    description: "Directory with the two compose files and configs. Default: the action's bundled stack (compose/).",
  },
  {
    name: 'remote-dir',
    group: 'stack',
    default: '~/monitoring',
    description:
      "Where the stack lives on the host: a directory of its own (e.g. under ~/, /opt, /srv, /mnt or /var/lib), not under /tmp, /etc, /usr, /dev, /run, Docker's state or a home's hidden directories. Made the login user's, mode 700; refused if another user owns or may write a directory on the way to it.",
  },
  {
    name: 'network',
    group: 'stack',
    default: 'monitoring',
    description: 'Name of the external bridge network both stacks share (created if missing).',
  },
  {
    name: 'stacks',
    group: 'stack',
    description:
      'Which stacks to run: app (docker-compose-dev.yml), monitoring (docker-compose-dev-monitoring.yml), agent (docker-compose-agent.yml). Default: app,monitoring; app,agent for role agent.',
  },
  { name: 'app-image', group: 'stack', description: 'Image of your Spring Boot app (the `server` service).' },
  {
    name: 'app-metrics-port',
    group: 'stack',
    default: '19021',
    description: "Actuator's private management port (management.server.port).",
  },
  {
    name: 'app-metrics-path',
    group: 'stack',
    default: '/myendpoint/prometheus',
    description: "Actuator's Prometheus path (management.endpoints.web.base-path + /prometheus).",
  },
  {
    name: 'app-logs-dir',
    group: 'stack',
    default: '/app/logs',
    description:
      "Directory inside the app container where Logback writes its files: a directory of its own (not /etc, /usr, /var/log or another of the image's system directories).",
  },
  {
    name: 'images',
    group: 'stack',
    description: 'Image overrides, one `service=image` per line (e.g. for a registry mirror).',
  },
  {
    name: 'pull',
    group: 'stack',
    default: 'missing',
    description: 'Image pull policy: missing, always or never.',
  },
  {
    name: 'log-agent',
    group: 'stack',
    default: DEFAULT_LOG_AGENT,
    description: `Log shipper: ${LOG_AGENTS.map((a) => `${a.name}${a.endOfLife ? ` (end of life since ${a.endOfLife.since})` : ''}`).join(' or ')}.`,
  },
  // agents
  {
    name: 'role',
    group: 'agents',
    default: 'monitoring',
    description:
      'monitoring: the central stack (Prometheus, Loki, Grafana). agent: only node-exporter, Prometheus in agent mode and the log agent, sending to remote-write-url and loki-push-url.',
  },
  {
    name: 'hosts',
    group: 'agents',
    description:
      'Several hosts in one run, one per line: `name=NAME role=monitoring|agent host=ADDRESS [port=22] [user=USER] [fingerprint=SHA256:…] [address=PRIVATE_ADDRESS] [jump=USER@BASTION:PORT|none]` (address: where agents reach the monitoring host; jump: its own jump host, or none to go direct despite proxy-jump). Other inputs apply to all; host, role and host-name are then not used.',
  },
  {
    name: 'parallel',
    group: 'agents',
    default: '3',
    description: 'With hosts: how many hosts are deployed at the same time.',
  },
  {
    name: 'accept-agents',
    group: 'agents',
    default: 'false',
    description:
      "Central stack: accept agents' remote write and Loki push on receiver-port, behind nginx basic auth (push-username / push-password).",
  },
  {
    name: 'receiver-port',
    group: 'agents',
    default: '9095',
    description:
      "Central stack: the port the authenticated receiver publishes (open it only to the agent hosts); not the host's SSH port, nor 80 or 3000 (nginx's and Grafana's).",
  },
  {
    name: 'receiver-bind',
    group: 'agents',
    default: '0.0.0.0',
    description: "Central stack: the host address the receiver listens on (e.g. the host's private address).",
  },
  {
    name: 'receiver-tls',
    group: 'agents',
    default: 'auto',
    description:
      'TLS on the push path. auto (the same as true): the central receiver speaks TLS with a self-signed certificate made on the host (agents deployed in the same run pin it; agents deployed on their own need it as push-ca), and agents send only to https:// or loopback URLs. false: plain HTTP on purpose, the push password in clear: the receiver-bind must then be a loopback or private address, and agents may use http:// URLs (the deploy warns).',
  },
  {
    name: 'push-ca',
    group: 'agents',
    description:
      "Agent: the certificate (PEM) to trust for remote-write-url and loki-push-url, e.g. the central receiver's (~/monitoring/receiver-tls/receiver.crt on that host). With the hosts input: taken from the monitoring host.",
  },
  {
    name: 'remote-write-url',
    group: 'agents',
    description:
      'Agent: Prometheus remote-write endpoint (our central receiver, Mimir, Thanos Receive, VictoriaMetrics, Grafana Cloud). With hosts: derived from the monitoring host.',
  },
  {
    name: 'loki-push-url',
    group: 'agents',
    description: 'Agent: Loki push endpoint (`…/loki/api/v1/push`). With hosts: derived from the monitoring host.',
  },
  {
    name: 'push-username',
    group: 'agents',
    default: 'agent',
    description: 'Basic-auth user for remote write and Loki push (agents send it; the central receiver checks it).',
  },
  {
    name: 'push-password',
    group: 'agents',
    secret: true,
    description:
      'Basic-auth password for remote write and Loki push: one line, at least 16 characters (e.g. `openssl rand -base64 24`). Required whenever the central receiver runs. Pass it from a secret.',
  },
  {
    name: 'metrics-query-url',
    group: 'agents',
    description:
      'Agent: where its metrics can be read back, the Prometheus-compatible instant-query endpoint itself (`…/api/v1/query`: VictoriaMetrics `http://vm:8428/api/v1/query` or `http://vmselect:8481/select/0/prometheus/api/v1/query`, Mimir `…/prometheus/api/v1/query`, Grafana Cloud `…/api/prom/api/v1/query`). Asked from the agent host; the gate then passes only when the `up` series of every target it scrapes is 1 there.',
  },
  {
    name: 'logs-query-url',
    group: 'agents',
    description:
      "Agent: where its logs can be read back, Loki's `…/loki/api/v1/query_range`. Asked from the agent host; the gate then passes only when this run's canary line of every log job is found there.",
  },
  {
    name: 'query-username',
    group: 'agents',
    description: 'Basic-auth user for metrics-query-url and logs-query-url. Default: push-username.',
  },
  {
    name: 'query-password',
    group: 'agents',
    secret: true,
    description:
      'Basic-auth password for metrics-query-url and logs-query-url (a user:password@ in a query URL wins for that URL); one line, at least 4 characters. Default: push-password. Pass it from a secret.',
  },
  // grafana
  {
    name: 'grafana-admin-password',
    group: 'grafana',
    secret: true,
    description: "Grafana's admin password: one line, at least 8 characters. Pass it from a secret.",
  },
  {
    name: 'grafana-bind',
    group: 'grafana',
    default: '0.0.0.0',
    description:
      "The host address Grafana's port 3000 is published on. 0.0.0.0 (every address, as the blog post has it) serves its login in plain HTTP to the network, and Docker's published ports bypass ufw: the deploy warns. 127.0.0.1 keeps it on the host: reach it through an SSH tunnel (`ssh -L 3000:127.0.0.1:3000 user@host`) or a TLS proxy on the host.",
  },
  {
    name: 'discord-webhook-url',
    group: 'grafana',
    secret: true,
    description:
      'Discord webhook for alerts. Pass it from a secret. Without it, alerts have no Discord contact point. The deploy checks from the host, before changing anything, that the webhook exists and that the host reaches it.',
  },
  {
    name: 'discord-test-notification',
    group: 'grafana',
    default: 'false',
    description:
      'After the health gate passes, have Grafana send one test notification through its Discord contact point (needs discord-webhook-url), as proof that alerts reach the channel.',
  },
  {
    name: 'cpu-alert-threshold',
    group: 'grafana',
    default: '70',
    description: 'Alert when host CPU use stays above this percentage for 5 minutes.',
  },
  {
    name: 'grafana-dashboards',
    group: 'grafana',
    default: '1860,19004',
    description: 'grafana.com dashboard ids to import at deploy time (comma-separated; `none` for none).',
  },
  // host
  {
    name: 'swap-size',
    group: 'host',
    default: '2G',
    description: 'Ensure at least this much active swap (e.g. 2G, 512M); 0 leaves swap alone.',
  },
  {
    name: 'logs-disk-budget',
    group: 'host',
    default: 'auto',
    description:
      'Most disk Loki may take (e.g. 2G): its ingestion rate is limited to what retention can keep within it, and near it the oldest logs go first. auto: 10% of the disk Docker keeps its volumes on, from 256M to 10G.',
  },
  {
    name: 'metrics-disk-budget',
    group: 'host',
    default: 'auto',
    description:
      'Most disk Prometheus may take (its retention size, WAL included; e.g. 1G); the oldest data goes first. auto: 8% of the disk Docker keeps its volumes on, from 256M to 4G.',
  },
  {
    name: 'app-logs-disk-budget',
    group: 'host',
    default: '256M',
    description:
      "Disk your app's log files may take in logs/app (bound them with Logback's rolling policy); more is warned about, never deleted.",
  },
  // gate
  {
    name: 'health-timeout',
    group: 'gate',
    default: '180s',
    description:
      "How long the health gate waits for every target to be up. A rollback's gate waits at least 60s: Prometheus, restarted, scrapes each target only once its first interval comes round.",
  },
  {
    name: 'rollback',
    group: 'gate',
    default: 'true',
    description: 'Restore the previous release when the health gate fails.',
  },
  {
    name: 'lock-timeout',
    group: 'gate',
    default: '10m',
    description: 'How long to wait for another deploy to the same host to finish.',
  },
  // notify
  {
    name: 'notify-on',
    group: 'notify',
    description:
      'When to post to discord-webhook-url from the runner: failure (one message per outage, one when resolved) or never. Default: failure for check, never for deploy.',
  },
  // backup
  {
    name: 'backup-key',
    group: 'backup',
    secret: true,
    description:
      'Passphrase that encrypts a backup (age, scrypt) and opens it at restore: one line, at least 16 characters (e.g. `openssl rand -base64 24`). Required by backup and restore. Pass it from a secret; without it the archive cannot be opened.',
  },
  {
    name: 'backup-path',
    group: 'backup',
    description:
      'backup: the file the encrypted archive is written to (mode 600). Default: monitoring-backup-HOST-YYYYMMDDTHHMMSSZ.age under $RUNNER_TEMP (the CLI: the current directory).',
  },
  {
    name: 'backup-include',
    group: 'backup',
    description:
      "backup: volumes to add to Grafana's state, comma-separated: prometheus (the metrics history), loki (the logs history). Default: none (they can be large; the backup prints their size).",
  },
  {
    name: 'restore-from',
    group: 'backup',
    description: 'restore: the archive a backup wrote (a file on the runner, e.g. from actions/download-artifact).',
  },
  {
    name: 'restore-overwrite',
    group: 'backup',
    default: 'false',
    description:
      'restore: on a host whose Grafana data dir already holds files, or whose secrets/grafana_secret_key is another key, stop Grafana and move them aside (data/grafana.before-restore-TIME, secrets.before-restore-TIME; never deleted) instead of refusing.',
  },
];

export interface OutputSpec {
  readonly name: string;
  readonly description: string;
}

export const OUTPUTS: readonly OutputSpec[] = [
  { name: 'changed', description: 'true when the deploy changed anything on the host.' },
  { name: 'restarted', description: 'Comma-separated services that were (re)started.' },
  { name: 'release', description: 'Id of the release now on the host.' },
  { name: 'targets', description: 'JSON array of Prometheus targets with their health.' },
  { name: 'grafana-url', description: 'URL of Grafana on the host.' },
  { name: 'hosts', description: 'With the hosts input: JSON array, one entry per host (name, role, ok, error).' },
  {
    name: 'problems',
    description: 'JSON array of what is wrong (empty when healthy); set by check and by a failed run.',
  },
  { name: 'backup-path', description: 'backup: where the encrypted archive was written (mode 600).' },
  { name: 'backup-bytes', description: 'backup: the size of the encrypted archive in bytes.' },
  {
    name: 'state-changed',
    description: 'true when the watchdog state (outage begun or resolved) changed in this run.',
  },
];
