// `monitoring-deploy lint`: every rule over a stack, findings sorted by file and line.

import { buildModel } from '../model/compose.js';
import type { StackFile } from '../model/files.js';
import { querySyntax } from './query-syntax.js';
import { type Finding, type LintContext, RULES } from './rules.js';

export type { Finding, LintContext };

export function lintStack(
  files: readonly StackFile[],
  vars: Readonly<Record<string, string>>,
  ctx: LintContext,
): Finding[] {
  const model = buildModel(files, vars);
  const findings: Finding[] = [...Object.values(RULES), querySyntax].flatMap((rule) => rule(model, ctx));
  for (const e of model.parseErrors) {
    findings.push({ rule: 'yaml', severity: 'error', file: e.file, line: e.line, message: e.value });
  }
  return findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}: ${f.severity} [${f.rule}] ${f.message}`;
}
