// Rendering and linting together: what `plan` shows and what a deploy checks before it
// touches the host.
import { DeployError } from '../errors.js';
import { type Finding, formatFinding, lintStack } from '../lint/lint.js';
import type { Settings } from '../settings/settings.js';
import { type RemoteLayout, remoteLayout } from './layout.js';
import { type HostIdentity, type RenderedStack, renderStack } from './render.js';

export interface StackPlan {
  readonly rendered: RenderedStack;
  readonly layout: RemoteLayout;
  readonly findings: readonly Finding[];
}

/** A typical login user, for plans made without a host. */
export const PLAN_IDENTITY = { uid: 1000, gid: 1000 } as const;

export function planStack(
  settings: Settings,
  host: HostIdentity & { home: string } = {
    ...PLAN_IDENTITY,
    home: `/home/${settings.connection.username || 'ec2-user'}`,
  },
  options: { composeV1?: boolean; lintOnly?: boolean } = {},
): StackPlan {
  const layout = remoteLayout(settings.stack.remoteDir, host.home);
  // Lint the files as Compose v2 reads them: the v1 shim only adds a line on top.
  const forLint = renderStack(settings, host, layout, { requireAppImage: !options.lintOnly });
  // Lint what the user wrote, as Compose will see it: not the files the deploy generates.
  const authored = forLint.files.filter((f) => !f.generated);
  if (forLint.userEnv) authored.push(forLint.userEnv);
  const findings = lintStack(authored, forLint.variables, {
    appLogsDir: settings.stack.appLogsDir,
    appMetricsPort: settings.stack.appMetricsPort,
    // A deploy writes UID/GID to .env; a stack linted on its own may be run by hand.
    deployWritesUidEnv: !options.lintOnly,
  });
  const rendered = options.composeV1 ? renderStack(settings, host, layout, options) : forLint;
  return { rendered, layout, findings };
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
