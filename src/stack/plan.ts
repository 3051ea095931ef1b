// Rendering and linting together: what `plan` shows and what a deploy checks before it
// touches the host; then, once the host is known, the files rendered for it.
import { DeployError } from '../errors.js';
import { type Finding, formatFinding, lintStack } from '../lint/lint.js';
import { type RemoteLayout, remoteLayout } from '../model/layout.js';
import type { Settings } from '../settings/settings.js';
import { type HostIdentity, type RenderedStack, renderStack } from './render.js';

export interface StackPlan {
  readonly rendered: RenderedStack;
  readonly layout: RemoteLayout;
  readonly findings: readonly Finding[];
}

/** A typical login user, for plans made without a host. */
export const PLAN_IDENTITY = { uid: 1000, gid: 1000 } as const;

export type HostIdentityWithHome = HostIdentity & { readonly home: string };

/** The stack rendered for a typical host and linted: the files a person wrote, as Compose reads them. */
export function planStack(
  settings: Settings,
  host: HostIdentityWithHome = { ...PLAN_IDENTITY, home: `/home/${settings.connection.username || 'ec2-user'}` },
  options: { lintOnly?: boolean } = {},
): StackPlan {
  const layout = remoteLayout(settings.stack.remoteDir, host.home);
  const rendered = renderStack(settings, host, layout, { requireAppImage: !options.lintOnly });
  // Lint what the user wrote, as Compose will see it: not the files the deploy generates.
  const authored = rendered.files.filter((f) => !f.generated);
  if (rendered.userEnv) authored.push(rendered.userEnv);
  const findings = lintStack(authored, rendered.variables, {
    appLogsDir: settings.stack.appLogsDir,
    appMetricsPort: settings.stack.appMetricsPort,
    // A deploy writes UID/GID to .env; a stack linted on its own may be run by hand.
    deployWritesUidEnv: !options.lintOnly,
  });
  return { rendered, layout, findings };
}

/** The files for one host: its user's ids and home, and the Compose it has. */
export function renderForHost(
  settings: Settings,
  host: HostIdentityWithHome,
  options: { composeV1?: boolean } = {},
): Omit<StackPlan, 'findings'> {
  const layout = remoteLayout(settings.stack.remoteDir, host.home);
  return { layout, rendered: renderStack(settings, host, layout, options) };
}

/** Errors stop a deploy; the message lists every finding with its file and line. */
export function assertLintClean(findings: readonly Finding[]): void {
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length) {
    throw new DeployError(
      `The stack has ${errors.length} lint error${errors.length > 1 ? 's' : ''}; nothing was changed on the host:\n  ${errors.map(formatFinding).join('\n  ')}`,
      'fix the files named above (run `monitoring-deploy lint STACK_DIR` to check locally).',
    );
  }
}
