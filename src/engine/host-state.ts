// Everything a deploy needs to know about the host, read in one script under the lock: swap,
// the network, the directories, the stack's files and their checksums, the containers, the
// downloaded dashboards, the release last brought up and Grafana's admin password. A redeploy
// that changes nothing needs no other command before its gate.

import { inParallel } from '../connection/shell.js';
import { type ContainerInfo, containersScript, parseContainers } from '../health/containers.js';
import { type DirsWanted, dirsState, parseReceiverCert, parseUnsafeDirs, receiverCertState } from '../host/dirs.js';
import { type DiskUsage, diskUsageScript, parseDiskUsage } from '../host/disk-budget.js';
import { dockerCommand } from '../host/docker.js';
import { parsePassword, passwordState } from '../host/grafana-admin.js';
import { networkState } from '../host/network.js';
import type { HostFacts } from '../host/preflight.js';
import { SWAP_STATE } from '../host/swap.js';
import { type RemoteLayout, SECRET_FILES } from '../model/layout.js';
import { receiverRuns, type Settings } from '../settings/settings.js';
import { upState } from '../stack/compose.js';
import { dashboardsState, parseDashboards } from '../stack/grafana-com.js';
import type { RenderedStack } from '../stack/render.js';
import { parseState, type RemoteState, stateScript } from '../stack/upload.js';
import { stackImages } from './budget.js';

export interface HostState {
  readonly swapActiveKb: number;
  /** The shared network's driver; empty when it does not exist. */
  readonly networkDriver: string;
  /** Directories (and the generated password file) still to make. */
  readonly missing: readonly string[];
  /** Why the remote dir is not safe for the deploy's secrets (nothing may be written then). */
  readonly unsafeDirs: readonly string[];
  readonly files: RemoteState;
  readonly containers: readonly ContainerInfo[];
  readonly dashboards: readonly string[];
  /** The release whose stacks were last brought up. */
  readonly upRelease?: string;
  /** Grafana's admin password as the host keeps it (never printed). */
  readonly grafanaPassword?: string;
  /** The receiver's TLS certificate, when it has one. */
  readonly receiverCert?: string;
  /** The host's disks and what the stack takes there (the disk budget). */
  readonly disk: DiskUsage;
}

export interface StateInputs {
  readonly settings: Settings;
  readonly facts: HostFacts;
  readonly layout: RemoteLayout;
  readonly rendered: RenderedStack;
}

/** Whether the deploy makes Grafana's admin password on the host (none was given). */
export const generatesPassword = (s: Settings) => !s.grafana.adminPassword && s.stack.stacks.includes('monitoring');

/** The receiver runs and speaks TLS: its certificate is made on the host and read back. */
export const receiverTls = (s: Settings) => receiverRuns(s) && s.agents.receiverTls === 'on';

export function dirsWanted(i: Pick<StateInputs, 'settings' | 'layout'>): DirsWanted {
  return {
    layout: i.layout,
    generatePassword: generatesPassword(i.settings),
    secretKey: i.settings.stack.stacks.includes('monitoring'),
    agent: i.settings.stack.stacks.includes('agent'),
    receiverTls: receiverTls(i.settings),
    diskGuard: i.settings.stack.stacks.includes('monitoring')
      ? 'loki'
      : i.settings.stack.stacks.includes('agent')
        ? 'nginx-only'
        : undefined,
  };
}

/**
 * Secret files made on the host that no upload may remove: Grafana's secret key, always, and
 * without grafana-admin-password the last one given (Grafana's database has it).
 */
export function keptOnHost(s: Settings): string[] {
  return [...(generatesPassword(s) ? [SECRET_FILES.grafanaAdminPassword] : []), SECRET_FILES.grafanaSecretKey];
}

export function hostStateScript(i: StateInputs): string {
  const docker = dockerCommand(i.facts);
  return inParallel([
    SWAP_STATE,
    networkState(docker, i.settings.stack.network),
    dirsState(dirsWanted(i)),
    stateScript(
      i.layout.root,
      i.rendered.files.map((f) => f.path),
    ),
    containersScript(docker, i.settings.stack.network),
    dashboardsState(i.layout),
    upState(i.layout.root),
    passwordState(i.layout),
    ...(receiverTls(i.settings) ? [receiverCertState(i.layout)] : []),
    diskUsageScript(docker, i.layout, i.facts.dockerRootDir ?? '/var/lib/docker', stackImages(i.settings, i.rendered)),
  ]);
}

export function parseHostState(out: string, layout: RemoteLayout): HostState {
  const value = (tag: string) => new RegExp(`^@${tag} ?(.*)$`, 'm').exec(out)?.[1]?.trim() ?? '';
  return {
    swapActiveKb: Number(value('swap')) || 0,
    networkDriver: value('network'),
    missing: out
      .split('\n')
      .filter((l) => l.startsWith('@missing '))
      .map((l) => l.slice('@missing '.length)),
    unsafeDirs: parseUnsafeDirs(out),
    files: parseState(out),
    containers: parseContainers(out),
    dashboards: parseDashboards(out),
    upRelease: value('up') || undefined,
    grafanaPassword: parsePassword(out),
    receiverCert: parseReceiverCert(out),
    disk: parseDiskUsage(out, layout),
  };
}
