// PromQL and LogQL parsed with the official grammars, the ones Prometheus' and Grafana's query
// editors use (@prometheus-io/lezer-promql, @grafana/lezer-logql). Lezer parsers never throw:
// they recover and mark what they could not read with error nodes (⚠), so a typo is found as
// the first error node of the tree.
import { parser as logqlParser } from '@grafana/lezer-logql';
import { parser as promqlParser } from '@prometheus-io/lezer-promql';
import type { StackModel } from '../model/compose.js';
import {
  grafanaBuiltins,
  interpolateGrafana,
  type QueryLanguage,
  type StackQuery,
  stackQueries,
  unknownVariables,
} from './queries.js';
import type { Finding, LintContext } from './rules.js';

const PARSERS = { promql: promqlParser, logql: logqlParser } as const;
export const LANGUAGE_NAMES: Record<QueryLanguage, string> = { promql: 'PromQL', logql: 'LogQL' };

/** Where the first thing the grammar could not read starts, or undefined when it all parses. */
export function syntaxErrorAt(language: QueryLanguage, expr: string): number | undefined {
  let at: number | undefined;
  PARSERS[language].parse(expr).iterate({
    enter: (node) => {
      if (at !== undefined) return false;
      if (node.type.isError) at = node.from;
      return undefined;
    },
  });
  return at;
}

/** The expression with a marker where it stops parsing: `sum by (le ⟨here⟩(rate(…`. */
export function markAt(expr: string, at: number): string {
  return `${expr.slice(0, at)}⟨here⟩${expr.slice(at)}`;
}

/**
 * What the linter fills Grafana's variables with: the built-ins for a one-hour dashboard with a
 * 15 s scrape interval, the dashboard's own variables with their current (or All) values. Only
 * the shape matters here; test/e2e runs the same queries with the values Grafana would send.
 */
const FRONTEND_BUILTINS = { __from: '1767222000000', __to: '1767225600000' }; // ms since the epoch
const LINT_BUILTINS: Record<QueryLanguage, Record<string, string>> = {
  promql: { ...grafanaBuiltins(3_600_000, 15_000, 15_000), ...FRONTEND_BUILTINS },
  logql: { ...grafanaBuiltins(3_600_000, 5000), ...FRONTEND_BUILTINS },
};

export function lintExpression(q: StackQuery): string {
  return interpolateGrafana(q.expr, { ...LINT_BUILTINS[q.language], ...q.variables });
}

function queryFinding(q: StackQuery): Finding | undefined {
  const expr = lintExpression(q);
  const at = syntaxErrorAt(q.language, expr);
  if (at === undefined) return undefined;
  const unknown = unknownVariables(expr);
  const which = q.refId ? ` (query ${q.refId})` : '';
  return {
    rule: 'query-syntax',
    severity: 'error',
    file: q.file,
    line: q.line,
    message: `${q.owner}${which}: this ${LANGUAGE_NAMES[q.language]} does not parse at character ${at + 1}: ${markAt(expr, at)}${
      expr === q.expr ? '' : ` (as Grafana sends it; written: ${q.expr})`
    }. ${
      unknown.length
        ? `${unknown.join(', ')} ${unknown.length > 1 ? 'are variables' : 'is a variable'} the dashboard does not define. `
        : ''
    }Fix the expression; Grafana would show the panel or rule as an error, never its data.`,
  };
}

/** Every PromQL and LogQL expression of the stack, parsed: one error per expression that does not. */
export const querySyntax = (m: StackModel, _ctx?: LintContext): Finding[] =>
  stackQueries(m)
    .map(queryFinding)
    .filter((f): f is Finding => !!f);
