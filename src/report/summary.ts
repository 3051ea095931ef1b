// The run as a person reads it afterwards: a Markdown job summary and the action's outputs.

import { formatDuration } from '../base/format.js';
import type { StepRecord } from '../base/log.js';
import { headline } from '../errors.js';
import type { TargetState } from '../health/targets.js';
import type { BudgetReport } from '../host/disk-budget.js';

/** A Prometheus target as the reports show it. */
export type TargetRow = Pick<TargetState, 'job' | 'instance' | 'health' | 'lastError' | 'lastScrape'>;

/** A line of the data path table. */
export interface DataPathRow {
  readonly what: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** One host of a several-host run, as the reports show it. */
export interface HostRow {
  readonly name: string;
  readonly role: string;
  readonly ok: boolean;
  readonly durationMs: number;
  readonly steps: readonly StepRecord[];
  readonly result?: { readonly release: string; readonly changed: boolean };
  readonly error?: Error;
  /** For an agent deployed with its central host: what arrived there. */
  readonly arrival?: { readonly detail: string };
}

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const ICON: Record<string, string> = { changed: '🟡', unchanged: '⚪', ok: '🟢', failed: '🔴' };

export interface SummaryInput {
  readonly title: string;
  readonly ok: boolean;
  readonly steps: readonly StepRecord[];
  readonly targets: readonly TargetRow[];
  readonly grafanaUrl?: string;
  readonly release?: string;
  readonly error?: string;
  readonly warnings?: readonly string[];
  readonly dataPath?: readonly DataPathRow[];
  readonly budget?: BudgetReport;
}

function stepRows(steps: readonly StepRecord[]): string[] {
  return [
    '| step | status | duration | detail |',
    '| --- | --- | --- | --- |',
    ...steps.map(
      (r) =>
        `| ${esc(r.name)} | ${ICON[r.status] ?? ''} ${r.status} | ${formatDuration(r.durationMs)} | ${esc(r.detail ?? '')} |`,
    ),
  ];
}

export function summaryMarkdown(s: SummaryInput): string {
  const out = [`## ${s.ok ? '✅' : '❌'} ${esc(s.title)}`, ''];
  if (s.grafanaUrl) out.push(`Grafana: ${s.grafanaUrl}${s.release ? ` · release \`${s.release}\`` : ''}`, '');
  if (s.error) out.push('```', s.error, '```', '');
  out.push(...stepRows(s.steps));
  if (s.targets.length) {
    out.push(
      '',
      '### Prometheus targets',
      '',
      '| job | instance | health | last scrape | last error |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const t of s.targets) {
      out.push(
        `| ${esc(t.job)} | ${esc(t.instance)} | ${t.health === 'up' ? '🟢' : '🔴'} ${t.health} | ${esc(t.lastScrape)} | ${esc(t.lastError)} |`,
      );
    }
  }
  if (s.dataPath?.length) {
    out.push('', '### Data path', '', '| what | | detail |', '| --- | --- | --- |');
    for (const r of s.dataPath) out.push(`| ${esc(r.what)} | ${r.ok ? '🟢' : '🔴'} | ${esc(r.detail)} |`);
  }
  if (s.budget) out.push('', ...budgetMarkdown(s.budget));
  if (s.warnings?.length) out.push('', '### Warnings', '', ...s.warnings.map((w) => `- ${esc(w)}`));
  return `${out.join('\n')}\n`;
}

export function budgetMarkdown(b: BudgetReport): string[] {
  return [
    '### Disk and memory budget',
    '',
    '| what | where | at most | now | how |',
    '| --- | --- | --- | --- | --- |',
    ...b.rows.map((r) => `| ${esc(r.what)} | ${esc(r.where)} | ${esc(r.most)} | ${esc(r.now)} | ${esc(r.note)} |`),
    '',
    ...b.filesystems.map((f) => `- ${esc(f)}`),
    ...(b.memory ? [`- ${esc(b.memory)}`] : []),
  ];
}

/** The budget as plain text for terminals and plan. */
export function budgetText(b: BudgetReport): string {
  return [
    textTable([
      ['BUDGET', 'WHERE', 'AT MOST', 'NOW', 'HOW'],
      ...b.rows.map((r) => [r.what, r.where, r.most, r.now, r.note]),
    ]),
    ...b.filesystems,
    ...(b.memory ? [b.memory] : []),
  ].join('\n');
}

/** The targets as outputs and --json show them (serialise with redactedJson). */
export function targetRows(targets: readonly TargetRow[]): TargetRow[] {
  return targets.map((t) => ({
    job: t.job,
    instance: t.instance,
    health: t.health,
    lastError: t.lastError,
    lastScrape: t.lastScrape,
  }));
}

/** A plain-text table for terminals. */
export function targetsTable(targets: readonly TargetRow[]): string {
  return textTable([
    ['JOB', 'INSTANCE', 'HEALTH', 'LAST ERROR'],
    ...targets.map((t) => [t.job, t.instance, t.health, t.lastError]),
  ]);
}

/** The data path as a plain-text table for terminals. */
export function dataPathTable(rows: readonly DataPathRow[]): string {
  return textTable([['DATA PATH', 'OK', 'DETAIL'], ...rows.map((r) => [r.what, r.ok ? 'yes' : 'NO', r.detail])]);
}

function textTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Several hosts: one row each, then each host's steps folded away. */
export function fleetMarkdown(title: string, outcomes: readonly HostRow[]): string {
  const ok = outcomes.every((o) => o.ok);
  const out = [
    `## ${ok ? '✅' : '❌'} ${esc(title)}`,
    '',
    '| host | role | result | duration | detail |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const o of outcomes) {
    const detail = o.error
      ? headline(o.error)
      : [o.result && `release \`${o.result.release}\``, o.arrival?.detail].filter(Boolean).join(' · ');
    out.push(
      `| ${esc(o.name)} | ${o.role} | ${o.ok ? '🟢 green' : '🔴 failed'} | ${formatDuration(o.durationMs)} | ${esc(detail)} |`,
    );
  }
  for (const o of outcomes) {
    out.push('', `<details><summary>${esc(o.name)}: steps</summary>`, '');
    out.push(...stepRows(o.steps));
    if (o.error) out.push('', '```', o.error.message, '```');
    out.push('', '</details>');
  }
  return `${out.join('\n')}\n`;
}

/** One entry per host, as the hosts output and --json show them (serialise with redactedJson). */
export function hostRows(outcomes: readonly HostRow[]): object[] {
  return outcomes.map((o) => ({
    name: o.name,
    role: o.role,
    ok: o.ok,
    ...(o.result ? { release: o.result.release, changed: o.result.changed } : {}),
    ...(o.error ? { error: headline(o.error) } : {}),
  }));
}
