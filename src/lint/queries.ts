// Every PromQL and LogQL expression of a stack, found by what the files hold (not by their names):
// Grafana dashboards' panel targets, Grafana's provisioned alert rules, and Prometheus (or Loki)
// rule files. Dashboard queries carry Grafana's variables ($host, $__rate_interval, …); the
// interpolation here follows Grafana's, so what is checked is what Grafana would send.
//
// Grafana, as read at its source: the variable syntax is public/app/features/variables/utils.ts
// (variableRegex: $var, [[var]], ${var}, ${var:format}); the built-ins are filled in by the
// backend, pkg/promlib/models/query.go (InterpolateVariables, calculateRateInterval:
// $__rate_interval = max($__interval + scrape interval, 4 × scrape interval), printed as a Go
// duration) and pkg/tsdb/loki/parse_query.go (interpolateVariables: $__interval, $__range, $__auto).
import { isImage, type StackModel, stackMounts, within } from '../model/compose.js';

export type QueryLanguage = 'promql' | 'logql';

export interface StackQuery {
  readonly file: string;
  readonly line: number;
  /** Whose query it is, as people find it: `panel "CPU busy"`, `alert rule "Disk nearly full"`. */
  readonly owner: string;
  readonly refId?: string;
  readonly language: QueryLanguage;
  /** As written, Grafana's variables not yet filled in. */
  readonly expr: string;
  /** Grafana asks it for one instant (stat, gauge, alert), not over the time range. */
  readonly instant: boolean;
  /** The dashboard's template variables with values that parse (empty for rules). */
  readonly variables: Readonly<Record<string, string>>;
}

/** What the stack's provisioned data sources say: uid → type, and the default's type. */
export interface DatasourceTypes {
  readonly byUid: ReadonlyMap<string, string>;
  readonly defaultType?: string;
}

interface Target {
  readonly expr?: unknown;
  readonly refId?: string;
  readonly instant?: boolean;
  readonly queryType?: string;
  readonly datasource?: { type?: string; uid?: string } | string | null;
}

interface Panel {
  readonly title?: string;
  readonly datasource?: Target['datasource'];
  readonly targets?: readonly Target[];
  readonly panels?: readonly Panel[];
}

export const languageOfType = (type: string | undefined): QueryLanguage | undefined =>
  type === 'prometheus' ? 'promql' : type === 'loki' ? 'logql' : undefined;

const asRecord = (x: unknown): Record<string, unknown> | undefined =>
  x && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;

const asArray = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);

/** The data sources every provisioning file of the stack declares. */
export function datasourceTypes(m: StackModel): DatasourceTypes {
  const byUid = new Map<string, string>();
  let defaultType: string | undefined;
  for (const path of m.files.keys()) {
    if (!/\.ya?ml$/.test(path)) continue;
    for (const d of asArray(asRecord(m.yaml(path)?.data)?.datasources).map(asRecord)) {
      if (typeof d?.type !== 'string') continue;
      if (typeof d.uid === 'string') byUid.set(d.uid, d.type);
      if (d.isDefault === true) defaultType = d.type;
    }
  }
  return { byUid, defaultType };
}

/** The query language of a target: its own data source, else its panel's, else the default one. */
function targetLanguage(t: Target, panel: Panel, types: DatasourceTypes): QueryLanguage | undefined {
  for (const ds of [t.datasource, panel.datasource]) {
    if (typeof ds === 'string') return languageOfType(types.byUid.get(ds));
    if (!ds) continue;
    if (ds.uid === '__expr__' || ds.uid === '-- Mixed --') continue;
    const type = ds.type ?? (ds.uid ? types.byUid.get(ds.uid) : undefined);
    if (type) return languageOfType(type);
  }
  return languageOfType(types.defaultType);
}

/** Panels at any depth (rows hold theirs in `panels`). */
function allPanels(panels: readonly Panel[] | undefined): Panel[] {
  return (panels ?? []).flatMap((p) => [p, ...allPanels(p.panels)]);
}

/** A dashboard file's JSON: the dashboard itself, or the API's `{ dashboard: … }` export. */
export function dashboardOf(text: string): Record<string, unknown> | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const top = asRecord(json);
  const dash = asRecord(top?.dashboard) ?? top;
  return Array.isArray(dash?.panels) ? dash : undefined;
}

/** Line of the first `"expr": "…"` holding this expression in the file's text (1-based). */
function lineOfExpr(text: string, expr: string): number {
  const at = text.indexOf(JSON.stringify(expr));
  return at < 0 ? 1 : text.slice(0, at).split('\n').length;
}

/** Every PromQL and LogQL target of a dashboard file's panels. */
export function dashboardQueries(file: string, text: string, types: DatasourceTypes): StackQuery[] {
  const dash = dashboardOf(text);
  if (!dash) return [];
  const variables = lintVariableValues(dash);
  return allPanels(dash.panels as Panel[]).flatMap((panel) =>
    (panel.targets ?? []).flatMap((t): StackQuery[] => {
      const language = targetLanguage(t, panel, types);
      if (typeof t.expr !== 'string' || !language) return [];
      return [
        {
          file,
          line: lineOfExpr(text, t.expr),
          owner: `panel ${JSON.stringify(panel.title ?? '(untitled)')}`,
          refId: t.refId,
          language,
          expr: t.expr,
          instant: t.instant === true || t.queryType === 'instant',
          variables,
        },
      ];
    }),
  );
}

export interface TemplateVariable {
  readonly name: string;
  readonly type: string;
  readonly includeAll: boolean;
  readonly allValue?: string;
  /** Its current value(s); `$__all` for All. */
  readonly current: readonly string[];
  /** The values it offers where the dashboard lists them (custom, interval, textbox, constant). */
  readonly options: readonly string[];
}

const strings = (x: unknown): string[] =>
  (Array.isArray(x) ? x : x === undefined || x === null ? [] : [x]).filter((v): v is string => typeof v === 'string');

/** A dashboard's template variables, as its JSON declares them. */
export function templateVariables(dash: Record<string, unknown>): TemplateVariable[] {
  return asArray(asRecord(dash.templating)?.list).flatMap((raw): TemplateVariable[] => {
    const v = asRecord(raw);
    if (typeof v?.name !== 'string') return [];
    const listed = asArray(v.options).flatMap((o) => strings(asRecord(o)?.value));
    const query = typeof v.query === 'string' ? v.query.split(',').map((x) => x.trim()) : [];
    return [
      {
        name: v.name,
        type: typeof v.type === 'string' ? v.type : 'query',
        includeAll: v.includeAll === true,
        allValue: typeof v.allValue === 'string' && v.allValue ? v.allValue : undefined,
        current: strings(asRecord(v.current)?.value),
        options: listed.length ? listed : query,
      },
    ];
  });
}

/**
 * A value for each variable that Grafana could send: All as its allValue (what `$__all` becomes
 * with one set), else the current value, else the first option; a query variable with nothing
 * listed gets a stand-in word. For the linter, which only needs the query's shape.
 */
export function lintVariableValues(dash: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of templateVariables(dash)) {
    const current = v.current.filter((x) => x !== '$__all');
    if (v.includeAll && (v.current.includes('$__all') || !current.length)) out[v.name] = v.allValue ?? '.*';
    else out[v.name] = current[0] ?? v.options[0] ?? (v.type === 'interval' ? '1m' : 'value');
  }
  return out;
}

/**
 * The built-in variables as Grafana's backend fills them in for a query over `rangeMs` whose
 * interval is `intervalMs`; for Prometheus `scrapeMs` is the data source's scrape interval
 * (timeInterval, default 15 s), for Loki undefined (no $__rate_interval there).
 */
export function grafanaBuiltins(rangeMs: number, intervalMs: number, scrapeMs?: number): Record<string, string> {
  const rangeS = Math.round(rangeMs / 1000);
  const out: Record<string, string> = {
    __interval: formatInterval(intervalMs),
    __interval_ms: String(intervalMs),
    __range: `${rangeS}s`,
    __range_s: String(rangeS),
    __range_ms: String(rangeMs),
    __auto: formatInterval(intervalMs),
  };
  if (scrapeMs !== undefined) {
    const rate = Math.max(intervalMs + scrapeMs, 4 * scrapeMs);
    out.__rate_interval = goDuration(rate);
    out.__rate_interval_ms = String(rate);
  }
  return out;
}

/** grafana-plugin-sdk-go gtime.FormatInterval: the largest whole unit (1m, 15s, 500ms). */
export function formatInterval(ms: number): string {
  const units: [number, string][] = [
    [365 * 86_400_000, 'y'],
    [7 * 86_400_000, 'w'],
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
  ];
  for (const [size, unit] of units) if (ms >= size) return `${Math.floor(ms / size)}${unit}`;
  return `${ms}ms`;
}

/** Go's time.Duration.String for whole milliseconds: 1m0s, 1m30s, 45s, 1h0m0s. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}

/** Grafana's variableRegex (public/app/features/variables/utils.ts). */
const VARIABLE = /\$(\w+)|\[\[([\s\S]+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;

/** The expression with each known variable replaced by its value; unknown ones stay as written. */
export function interpolateGrafana(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(VARIABLE, (whole, plain, bracket, _f1, braced) => {
    const name = plain ?? bracket ?? braced;
    return Object.hasOwn(values, name) ? (values[name] as string) : whole;
  });
}

/** Variables the expression still holds after interpolation (names Grafana would not know). */
export function unknownVariables(expr: string): string[] {
  return [...expr.matchAll(VARIABLE)].map((m) => m[0]);
}

interface RuleItem {
  readonly refId?: string;
  readonly datasourceUid?: string;
  readonly queryType?: string;
  readonly model?: Target & { range?: boolean };
}

/** Grafana's provisioned alert rules (groups[].rules[].data[].model.expr) in one YAML file. */
function grafanaRuleQueries(m: StackModel, path: string, types: DatasourceTypes): StackQuery[] {
  const y = m.yaml(path);
  return asArray(asRecord(y?.data)?.groups).flatMap((g, gi) =>
    asArray(asRecord(g)?.rules).flatMap((r, ri) => {
      const rule = asRecord(r);
      return asArray(rule?.data).flatMap((d, di): StackQuery[] => {
        const item = asRecord(d) as RuleItem | undefined;
        const expr = item?.model?.expr;
        const uid = item?.datasourceUid;
        const language = languageOfType(uid ? types.byUid.get(uid) : undefined) ?? targetLanguageOf(item?.model);
        if (typeof expr !== 'string' || !language || uid === '__expr__') return [];
        return [
          {
            file: path,
            line: y?.lineOf(['groups', gi, 'rules', ri, 'data', di, 'model', 'expr']) ?? 1,
            owner: `alert rule ${JSON.stringify(String(rule?.title ?? rule?.uid ?? '(untitled)'))}`,
            refId: item?.refId,
            language,
            expr,
            instant: true,
            variables: {},
          },
        ];
      });
    }),
  );
}

const targetLanguageOf = (model: Target | undefined) =>
  typeof model?.datasource === 'object' ? languageOfType(model?.datasource?.type) : undefined;

/** A file some Loki service mounts (its ruler's rules are LogQL); else rule files are Prometheus'. */
function mountedIntoLoki(m: StackModel, path: string): boolean {
  return m.services.filter((s) => isImage(s, 'loki')).some((s) => stackMounts(s).some((dir) => within(path, dir)));
}

/** Prometheus (or Loki ruler) rule files: groups[].rules[].expr with `record` or `alert`. */
function ruleFileQueries(m: StackModel, path: string): StackQuery[] {
  const y = m.yaml(path);
  const language: QueryLanguage = mountedIntoLoki(m, path) ? 'logql' : 'promql';
  return asArray(asRecord(y?.data)?.groups).flatMap((g, gi) =>
    asArray(asRecord(g)?.rules).flatMap((r, ri): StackQuery[] => {
      const rule = asRecord(r);
      const name = rule?.record ?? rule?.alert;
      if (typeof rule?.expr !== 'string' || typeof name !== 'string') return [];
      return [
        {
          file: path,
          line: y?.lineOf(['groups', gi, 'rules', ri, 'expr']) ?? 1,
          owner: `${rule.record ? 'recording' : 'alerting'} rule ${JSON.stringify(name)}`,
          language,
          expr: rule.expr,
          instant: true,
          variables: {},
        },
      ];
    }),
  );
}

/** Every PromQL and LogQL expression of the stack's files. */
export function stackQueries(m: StackModel): StackQuery[] {
  const types = datasourceTypes(m);
  return [...m.files.keys()].sort().flatMap((path) => {
    if (path.endsWith('.json')) return dashboardQueries(path, m.files.get(path)?.content.toString('utf8') ?? '', types);
    if (!/\.ya?ml$/.test(path)) return [];
    return [...grafanaRuleQueries(m, path, types), ...ruleFileQueries(m, path)];
  });
}
