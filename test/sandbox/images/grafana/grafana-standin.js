// STAND-IN for Grafana 13.2 (NOT Grafana: no UI, no database engine, no alert evaluation). It answers
// the few HTTP API calls the deploy makes, with Grafana's paths, status codes and JSON shapes, computed
// from the provisioning files really mounted into it. Written from reading grafana/grafana's source
// (no code copied); the behaviour each part follows:
//   GET /api/health (no auth; indented JSON, "database":"ok")  pkg/api/http_server.go apiHealthHandler
//   basic auth (login or email): 401 {"message":"Unauthorized"} without credentials, password-auth.failed
//     on wrong ones, login-attempt.blocked after 5 failures in 5 minutes (kept in the database)
//                                                   pkg/middleware/auth.go notAuthorized,
//                                                   pkg/services/authn/clients/password.go, pkg/services/loginattempt
//   error bodies, "traceID" added when an error is attached   pkg/api/response/response.go Error, Err
//   the admin user is created from GF_SECURITY_ADMIN_USER/_PASSWORD (run.sh turns GF_*__FILE into
//     GF_*) only when the database is created; later starts keep the stored password
//   PUT /api/admin/users/:id/password {"password"}          pkg/api/admin_users.go AdminUpdateUserPassword
//   PUT /api/user/password {"oldPassword","newPassword"}    pkg/api/user.go ChangeUserPassword,
//     pkg/services/user/userimpl/user.go Update, pkg/services/user/password.go (at least 4 characters)
//   grafana cli admin reset-admin-password [--user-id N] [--password-from-stdin] PASSWORD
//                                                   pkg/cmd/grafana-cli/commands/reset_password_command.go
//   GET /api/datasources/uid/:uid/health                    pkg/api/datasources.go CheckDatasourceHealthWithUID
//     prometheus: instant query 1+1 at time=4 (form POST unless jsonData.httpMethod is GET), then
//     api/v1/status/buildinfo for "details"         pkg/promlib/healthcheck.go, heuristics.go, client/client.go
//     loki: instant query vector(1)+vector(1) at time=4s, which must answer 2
//                                                   pkg/tsdb/loki/healthcheck.go, api.go
//   GET /api/v1/provisioning/alert-rules                    ngalert/api/tooling/definitions/provisioning_alert_rules.go
//     (ProvisionedAlertRule; query models get intervalMs and maxDataPoints: ngalert/models/alert_query.go;
//     file rules are created or updated by uid, never dropped: provisioning/alerting/rules_provisioner.go)
//   GET /api/v1/provisioning/contact-points                 ngalert/provisioning/contactpoints.go,
//     definitions/provisioning_contactpoints.go (EmbeddedContactPoint, by name then uid, secure settings
//     "[REDACTED]"); the built-in grafana-default-email: pkg/setting/setting_unified_alerting.go;
//     receivers need uid, type, settings: provisioning/alerting/contact_point_types.go
//   provisioning values: $VAR ${VAR} $__env{} $__file{} expanded and $$ -> $, except in rule annotations
//     and query models; a file that does not parse stops Grafana            pkg/services/provisioning
//   POST /apis/notifications.alerting.grafana.app/v1beta1/namespaces/default/receivers/:uid/test: see
//     "testing a contact point" below; it really posts to the provisioned Discord URL
//   what the API is given is kept in the database, as Grafana keeps it in its own (see "state made
//     through the API" below): dashboards (POST /api/dashboards/db, GET /api/dashboards/uid/:uid,
//     GET /api/search) and data sources with an encrypted password (POST /api/datasources,
//     GET /api/datasources/uid/:uid and its health)
// Its "database" is a JSON file, $GF_PATHS_DATA/grafana-standin.db.json (not SQLite).
// The shapes were read in grafana/grafana's indexed source, not at the 13.2.2 tag (the repository is
// too large to mirror here); each section names its files.
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const path = require('node:path');
const crypto = require('node:crypto');
const YAML = require('yaml');

const env = process.env;
const DATA = env.GF_PATHS_DATA || '/var/lib/grafana';
const PROVISIONING = env.GF_PATHS_PROVISIONING || '/etc/grafana/provisioning';
const DB_FILE = path.join(DATA, 'grafana-standin.db.json');
const VERSION = '13.2.2-standin';
// Secure settings (answered "[REDACTED]") of the contact point types this project uses, and a few more.
const SECURE = {
  discord: ['url'],
  slack: ['url', 'token'],
  webhook: ['password'],
  telegram: ['bottoken'],
  teams: ['url'],
};
const DEFAULT_CONTACT_POINT = {
  uid: '',
  name: 'grafana-default-email',
  type: 'email',
  settings: { addresses: '<example@email.com>' },
  disableResolveMessage: false,
  provenance: '',
};

const log = (msg, fields = {}) =>
  console.log(`logger=standin t=${new Date().toISOString()} level=info msg="${msg}"${fieldText(fields)}`);
const fieldText = (fields) =>
  Object.entries(fields).reduce((s, [k, v]) => `${s} ${k}=${JSON.stringify(String(v))}`, '');
function fatal(msg) {
  console.error(`Error: ✗ ${msg}`);
  process.exit(1);
}

// ---- the "database" ---------------------------------------------------------------------------------
// A database an older stand-in made lacks the tables added since; Grafana's migrations add them too.
const withApiTables = (db) => db && { dashboards: {}, nextDashboardId: 1, nextDatasourceId: 1, ...db };
const loadDb = () => withApiTables(fs.existsSync(DB_FILE) ? JSON.parse(fs.readFileSync(DB_FILE, 'utf8')) : null);
function saveDb(db) {
  // It holds the contact points' secure settings (Grafana keeps them encrypted in its database):
  // only Grafana's user reads it.
  fs.writeFileSync(`${DB_FILE}.tmp`, JSON.stringify(db, null, 1), { mode: 0o600 });
  fs.renameSync(`${DB_FILE}.tmp`, DB_FILE);
}
const hash = (password, salt) => crypto.pbkdf2Sync(password, salt, 10000, 50, 'sha256').toString('hex');
function setPassword(user, password) {
  user.salt = crypto.randomBytes(5).toString('hex');
  user.password = hash(password, user.salt);
}
const ALPHANUMERIC = '0123456789abcdefghijklmnopqrstuvwxyz';
const shortUid = () =>
  'abcdef'[crypto.randomInt(6)] + Array.from({ length: 13 }, () => ALPHANUMERIC[crypto.randomInt(36)]).join('');
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

function createDb() {
  // Only now, when the database is created, does the admin password come from the environment.
  const admin = {
    id: 1,
    login: env.GF_SECURITY_ADMIN_USER || 'admin',
    email: env.GF_SECURITY_ADMIN_EMAIL || 'admin@localhost',
  };
  setPassword(admin, env.GF_SECURITY_ADMIN_PASSWORD || 'admin');
  log('Created default admin', { user: admin.login });
  return {
    users: [{ ...admin, isAdmin: true }],
    loginAttempts: {},
    folders: {},
    datasources: {},
    contactPoints: [DEFAULT_CONTACT_POINT],
    secureSettings: {},
    policy: { receiver: DEFAULT_CONTACT_POINT.name },
    rules: {},
    nextRuleId: 1,
    dashboards: {},
    nextDashboardId: 1,
    nextDatasourceId: 1,
  };
}

// ---- provisioning -----------------------------------------------------------------------------------
function expand(text, file) {
  return text.replace(/\$\$|\$__(env|file|vault)\{([^}]*)\}|\$\{(\w+)\}|\$(\w+)/g, (all, kind, arg, braced, bare) => {
    if (all === '$$') return '$';
    if (kind === 'file') {
      if (!fs.existsSync(arg)) throw new Error(`${file}: open ${arg}: no such file or directory`);
      return fs.readFileSync(arg, 'utf8').trim();
    }
    if (kind === 'vault') throw new Error(`${file}: $__vault{} is not available in the stand-in`);
    return env[kind === 'env' ? arg : braced || bare] || '';
  });
}
// Expands the strings of a parsed file, except below the places keep(path) names.
function expandAll(node, file, keep, at = []) {
  if (typeof node === 'string') return expand(node, file);
  if (Array.isArray(node)) return node.map((v) => expandAll(v, file, keep, [...at, '[]']));
  if (!node || typeof node !== 'object') return node;
  const entries = Object.entries(node).map(([k, v]) => [
    k,
    keep([...at, k]) ? v : expandAll(v, file, keep, [...at, k]),
  ]);
  return Object.fromEntries(entries);
}
// The parsed, expanded files of one provisioning directory; Grafana does not start if one is broken.
function readProvisioning(dir, what, extensions = /\.ya?ml$/, keep = () => false) {
  const full = path.join(PROVISIONING, dir);
  const files = fs.existsSync(full) ? fs.readdirSync(full).filter((f) => extensions.test(f)) : [];
  return files.sort().map((name) => {
    const file = path.join(full, name);
    let doc = {};
    try {
      doc = YAML.parse(fs.readFileSync(file, 'utf8')) || {};
    } catch (e) {
      fatal(`${what} provisioning error: failed to parse ${file}: ${e.message.split('\n')[0]}`);
    }
    try {
      return expandAll(doc, file, keep);
    } catch (e) {
      return fatal(`${what} provisioning error: ${e.message}`);
    }
  });
}

// Prometheus' model.Duration, as Grafana writes "for": "5m", "1h30m", "0s".
const UNITS = { y: 31536e6, w: 6048e5, d: 864e5, h: 36e5, m: 6e4, s: 1e3, ms: 1 };
function duration(text, where) {
  const m = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(text);
  if (!m || text === '') fatal(`Alerting provisioning error: ${where}: not a valid duration string: "${text}"`);
  let ms = Object.values(UNITS).reduce((sum, size, i) => sum + Number(m[i + 1] || 0) * size, 0);
  if (ms === 0) return '0s';
  return Object.entries(UNITS).reduce((out, [unit, size]) => {
    const n = Math.floor(ms / size);
    ms -= n * size;
    return n ? `${out}${n}${unit}` : out;
  }, '');
}
// Go writes a map[string]any with its keys sorted.
function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys(v[k])]),
  );
}

function provisionDatasources(db) {
  for (const doc of readProvisioning('datasources', 'Datasource')) {
    for (const gone of doc.deleteDatasources || []) {
      for (const ds of Object.values(db.datasources)) if (ds.name === gone.name) delete db.datasources[ds.uid];
    }
    for (const ds of doc.datasources || []) {
      const uid = ds.uid || Object.values(db.datasources).find((known) => known.name === ds.name)?.uid || shortUid();
      const { basicAuth, basicAuthUser, jsonData, secureJsonData } = ds;
      db.datasources[uid] = {
        id: db.datasources[uid]?.id || db.nextDatasourceId++,
        uid,
        name: ds.name,
        type: ds.type,
        url: ds.url || '',
        jsonData: jsonData || {},
        basicAuth,
        readOnly: true,
      };
      if (basicAuth) Object.assign(db.datasources[uid], { basicAuthUser, password: secureJsonData?.basicAuthPassword });
    }
  }
}

function provisionContactPoints(db, doc) {
  for (const cp of doc.contactPoints || []) {
    for (const r of cp.receivers || []) {
      const refuse = (why) => fatal(`Alerting provisioning error: failure parsing contact points: ${cp.name}: ${why}`);
      const uid = String(r.uid ?? '').trim();
      const settings = { ...r.settings };
      if (!uid) refuse('no uid is set');
      if (!r.type) refuse('no type is set');
      if (!Object.keys(settings).length) refuse('no settings are set');
      if (r.type === 'discord' && !settings.url) refuse('could not find webhook url property in settings');
      const secure = {};
      for (const key of SECURE[r.type] || []) {
        if (settings[key]) [secure[key], settings[key]] = [settings[key], '[REDACTED]'];
        else delete settings[key];
      }
      db.secureSettings = { ...db.secureSettings, [uid]: secure };
      const disableResolveMessage = !!r.disableResolveMessage;
      const entry = { uid, name: cp.name, type: r.type, settings, disableResolveMessage, provenance: 'file' };
      db.contactPoints = db.contactPoints.filter((c) => c.uid !== uid).concat(entry);
    }
  }
  for (const gone of doc.deleteContactPoints || []) {
    db.contactPoints = db.contactPoints.filter((c) => c.uid !== String(gone.uid ?? ''));
  }
}

function alertQuery(q) {
  const model = { ...q.model };
  if (!(model.maxDataPoints > 0)) model.maxDataPoints = 43200;
  if (!(model.intervalMs > 0)) model.intervalMs = 1000;
  const relativeTimeRange = { from: q.relativeTimeRange?.from || 0, to: q.relativeTimeRange?.to || 0 };
  const queryType = model.queryType || q.queryType || '';
  return { refId: q.refId, queryType, relativeTimeRange, datasourceUid: q.datasourceUid, model: sortKeys(model) };
}

function provisionRules(db, doc) {
  for (const g of doc.groups || []) {
    if (!g.folder) fatal(`Alerting provisioning error: rule group ${g.name}: no folder is set`);
    if (!db.folders[g.folder]) db.folders[g.folder] = shortUid();
    for (const r of g.rules || []) {
      const refuse = (why) => fatal(`Alerting provisioning error: rule group ${g.name}: rule "${r.title}": ${why}`);
      const refIds = (r.data || []).map((q) => q.refId);
      if (!r.uid) refuse('no UID is set');
      if (!r.title) refuse('no title is set');
      if (!refIds.includes(r.condition)) refuse(`condition "${r.condition}" must be one of [${refIds.join(' ')}]`);
      const rule = {
        uid: r.uid,
        orgID: g.orgId || 1,
        folderUID: db.folders[g.folder],
        ruleGroup: g.name,
        title: r.title,
        condition: r.condition,
        data: r.data.map(alertQuery),
        noDataState: r.noDataState || 'NoData',
        execErrState: r.execErrState || 'Alerting',
        for: duration(String(r.for ?? '0s'), r.uid),
        keep_firing_for: duration(String(r.keepFiringFor ?? '0s'), r.uid),
        annotations: sortKeys(r.annotations || {}),
        labels: sortKeys(r.labels || {}),
        isPaused: !!r.isPaused,
      };
      const old = db.rules[r.uid];
      const updated = old && JSON.stringify(old.rule) === JSON.stringify(rule) ? old.updated : now();
      db.rules[r.uid] = { id: old?.id || db.nextRuleId++, updated, rule };
    }
  }
  for (const gone of doc.deleteRules || []) delete db.rules[gone.uid];
}

function provision(db) {
  provisionDatasources(db);
  const dashboardProviders = readProvisioning('dashboards', 'Dashboard').flatMap((doc) => doc.providers || []);
  provisionedDashboards = readProvisionedDashboards(dashboardProviders);
  const verbatim = (at) => at[0] === 'groups' && at[2] === 'rules' && (at[4] === 'annotations' || at[6] === 'model');
  const alerting = readProvisioning('alerting', 'Alerting', /\.(ya?ml|json)$/, verbatim);
  for (const doc of alerting) provisionContactPoints(db, doc);
  for (const doc of alerting) {
    for (const policy of doc.policies || []) {
      if (!db.contactPoints.some((c) => c.name === policy.receiver)) {
        fatal(`Alerting provisioning error: notification policy: receiver '${policy.receiver}' does not exist`);
      }
      db.policy = { receiver: policy.receiver };
    }
    provisionRules(db, doc);
  }
}

// ---- HTTP -------------------------------------------------------------------------------------------
const HEADERS = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'deny' };
function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { ...HEADERS, 'Content-Type': type });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}
// response.Error: {"message"}, plus "traceID" when Grafana attached an error; errutil errors carry more.
const error = (res, status, message, withErr = true) =>
  send(res, status, withErr ? { message, traceID: '' } : { message });
const errutil = (status, messageId, message) => ({ message, messageId, statusCode: status, traceID: '' });

function authenticate(req, db) {
  const basic = /^Basic (.+)$/i.exec(req.headers.authorization || '');
  if (!basic) return { status: 401, body: { message: 'Unauthorized' } };
  const credentials = Buffer.from(basic[1], 'base64').toString();
  const login = credentials.slice(0, credentials.indexOf(':'));
  const password = credentials.slice(credentials.indexOf(':') + 1);
  const recent = (db.loginAttempts[login] || []).filter((t) => t > Date.now() - 5 * 60e3);
  const refused = (messageId) => ({ status: 401, body: errutil(401, messageId, 'Invalid username or password') });
  if (recent.length >= 5 && env.GF_SECURITY_DISABLE_BRUTE_FORCE_LOGIN_PROTECTION !== 'true') {
    return refused('login-attempt.blocked');
  }
  const user = db.users.find((u) => u.login === login || u.email === login);
  if (user && password && hash(password, user.salt) === user.password) return { user };
  db.loginAttempts[login] = [...recent, Date.now()];
  saveDb(db);
  return refused('password-auth.failed');
}

const readBody = (req) =>
  new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
  });
function parseJson(text) {
  try {
    const v = JSON.parse(text);
    return v && typeof v === 'object' ? v : null;
  } catch {
    return null;
  }
}

// PUT /api/admin/users/:id/password: any failure of the update, a short password too, is a 500.
function adminSetPassword(res, db, idText, body) {
  const form = parseJson(body);
  if (!form) return error(res, 400, 'bad request data');
  if (!/^-?\d+$/.test(idText)) return error(res, 400, 'id is invalid');
  const user = db.users.find((u) => u.id === Number(idText));
  if (!user || String(form.password ?? '').length < 4) return error(res, 500, 'Failed to update user password');
  setPassword(user, String(form.password));
  delete db.loginAttempts[user.login];
  saveDb(db);
  return send(res, 200, { message: 'User password updated' });
}

// PUT /api/user/password: the signed-in user's own password. (The messageId of "Invalid old password"
// is user.ErrPasswordMissmatch's as remembered: that file was not in the source searched.)
function changeOwnPassword(res, db, user, body) {
  const form = parseJson(body);
  if (!form) return error(res, 400, 'bad request data');
  if (hash(String(form.oldPassword ?? ''), user.salt) !== user.password) {
    return send(res, 401, errutil(401, 'user.password-mismatch', 'Invalid old password'));
  }
  if (String(form.newPassword ?? '').length < 4) {
    return send(res, 400, errutil(400, 'password.password-policy-too-short', 'New password is too short'));
  }
  setPassword(user, String(form.newPassword));
  saveDb(db);
  return send(res, 200, { message: 'User password changed' });
}

// ---- data source health -----------------------------------------------------------------------------
function nameserver() {
  const conf = fs.existsSync('/etc/resolv.conf') ? fs.readFileSync('/etc/resolv.conf', 'utf8') : '';
  return /^nameserver\s+(\S+)/m.exec(conf)?.[1] || '127.0.0.1';
}
// A failed request, worded as Go's net/http words it.
function goError(method, url, e) {
  const { hostname, port, protocol } = new URL(url);
  const address = `${e.address || hostname}:${e.port || port || (protocol === 'https:' ? 443 : 80)}`;
  const reasons = {
    ENOTFOUND: `dial tcp: lookup ${hostname} on ${nameserver()}:53: no such host`,
    EAI_AGAIN: `dial tcp: lookup ${hostname} on ${nameserver()}:53: server misbehaving`,
    ECONNREFUSED: `dial tcp ${address}: connect: connection refused`,
    EHOSTUNREACH: `dial tcp ${address}: connect: no route to host`,
    ETIMEDOUT: 'context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
    ECONNRESET: 'EOF',
  };
  return `${method[0]}${method.slice(1).toLowerCase()} "${url}": ${reasons[e.code] || e.message}`;
}
function request(ds, method, url, body) {
  return new Promise((resolve, reject) => {
    const headers = body ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {};
    if (ds.basicAuth)
      headers.Authorization = `Basic ${Buffer.from(`${ds.basicAuthUser}:${basicAuthPassword(ds)}`).toString('base64')}`;
    const req = (url.startsWith('https:') ? https : http).request(url, { method, headers, timeout: 30e3 }, (res) => {
      readBody(res).then((text) => resolve({ status: res.statusCode, statusText: res.statusMessage, text }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => reject(new Error(goError(method, url, e))));
    req.end(body);
  });
}
const endpoint = (ds, p, query) => `${ds.url.replace(/\/+$/, '')}${p}${query ? `?${query}` : ''}`;
const form = (fields) => new URLSearchParams(Object.entries(fields).sort()).toString();

async function prometheusHealth(ds) {
  const failed = (e) => ({
    status: 'ERROR',
    message: `${e} - There was an error returned querying the Prometheus API.`,
  });
  const query = form({ query: '1+1', time: '4' });
  const viaGet = String(ds.jsonData.httpMethod || '').toUpperCase() === 'GET';
  let result;
  try {
    const r = viaGet
      ? await request(ds, 'GET', endpoint(ds, '/api/v1/query', query))
      : await request(ds, 'POST', endpoint(ds, '/api/v1/query'), query);
    const json = parseJson(r.text);
    if (r.status !== 200) result = failed(`${r.status} ${r.statusText}`);
    else if (json?.status !== 'success') result = failed(json?.error || 'unexpected response');
    else result = { status: 'OK', message: 'Successfully queried the Prometheus API.' };
  } catch (e) {
    result = failed(e.message);
  }
  // "details": an application whose build info lists features is Mimir; without build info, none.
  const info = await request(ds, 'GET', endpoint(ds, '/api/v1/status/buildinfo')).catch(() => null);
  const data = info?.status === 200 ? parseJson(info.text)?.data : null;
  if (data) {
    const mimir = Object.keys(data.features || {}).length > 0;
    result.details = { application: mimir ? 'Mimir' : 'Prometheus', features: { rulerApiEnabled: mimir } };
  }
  return result;
}

async function lokiHealth(ds) {
  const failed = (e) => ({ status: 'ERROR', message: `There was an error returned querying the Loki API.: ${e}` });
  const fields = { direction: 'backward', query: 'vector(1)+vector(1)', time: '4000000000' };
  if (Number(ds.jsonData.maxLines) > 0) fields.limit = String(ds.jsonData.maxLines);
  try {
    const r = await request(ds, 'GET', endpoint(ds, '/loki/api/v1/query', form(fields)));
    if (r.status < 200 || r.status > 299) return failed(parseJson(r.text)?.message || r.text);
    const samples = parseJson(r.text)?.data?.result || [];
    if (!samples.length) return failed('no frames');
    if (samples.length !== 1 || Number(samples[0].value?.[1]) !== 2) return failed('invalid response');
    return { status: 'OK', message: 'Successfully queried the Loki API.' };
  } catch (e) {
    return failed(e.message);
  }
}

async function datasourceHealth(res, db, uid) {
  if (!/^[a-zA-Z0-9\-_]*$/.test(uid) || uid.length > 40) return error(res, 400, 'UID is invalid', false);
  const ds = db.datasources[uid];
  if (!ds) return error(res, 500, 'Unable to load datasource metadata');
  const check = { prometheus: prometheusHealth, loki: lokiHealth }[ds.type];
  if (!check) return error(res, 501, `the Grafana stand-in has no health check for type ${ds.type}`, false);
  const result = await check(ds);
  return send(res, result.status === 'OK' ? 200 : 400, result);
}

// ---- state made through the API ---------------------------------------------------------------------
// Dashboards (pkg/api/dashboard.go PostDashboard/GetDashboard; pkg/services/dashboards/errors.go;
// pkg/api/apierrors/dashboard.go ToDashboardErrorResponse; pkg/api/dtos/dashboard.go DashboardMeta;
// search hits: pkg/services/search/model/model.go Hit) and data sources (pkg/api/datasources.go
// AddDataSource, GetDataSourceByUID, convertModelToDtos; pkg/api/dtos/datasource.go DataSource) are kept
// in the database file, as Grafana keeps them in its database: a backup of $GF_PATHS_DATA carries them.
//
// A data source's secureJsonData is kept ENCRYPTED with a key derived from GF_SECURITY_SECRET_KEY
// (run.sh sets it from GF_SECURITY_SECRET_KEY__FILE; unset, Grafana's public default). Real Grafana
// uses envelope encryption: random data keys encrypt the secrets and are themselves kept encrypted with
// the secret key (pkg/services/secrets/manager/manager.go; pkg/services/encryption/service/service.go).
// The stand-in's scheme (AES-256-GCM, key from PBKDF2 of the secret key) keeps only the property a
// backup depends on: without the same secret key the password cannot be read.
//
// What Grafana does with another secret key (read, not run): its default cipher is AES-CFB
// (encryption/service/service.go defaultEncryptionAlgorithm; provider/decipher_aes.go), which has no
// integrity check, so decrypting yields bytes, not an error; DataSourcesService.DecryptedValues
// (pkg/services/datasources/service/datasource.go) then fails to parse them and falls back to the
// legacy secure_json_data, empty for a data source saved through the API. So the data source is used
// WITHOUT its password: GET shows no secureJsonFields, and the health check reaches the upstream with
// an empty password and reports what the upstream answers (401) - as users of a lost secret key report
// ("queries would start failing with authentication errors", grafana/grafana#62737). The stand-in
// does the same, and says in its log that decryption failed.
const DEFAULT_SECRET_KEY = 'SW2YcwTIb9zpOOhoPsMm'; // conf/defaults.ini [security] secret_key
const secretKey = () => env.GF_SECURITY_SECRET_KEY || DEFAULT_SECRET_KEY;
const sealKey = (salt) => crypto.pbkdf2Sync(secretKey(), salt, 10000, 32, 'sha256');

function encryptSecret(plain) {
  const salt = crypto.randomBytes(8);
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', sealKey(salt), iv);
  const data = Buffer.concat([cipher.update(String(plain), 'utf8'), cipher.final()]);
  return `*standin-aes-gcm*${Buffer.concat([salt, iv, cipher.getAuthTag(), data]).toString('base64')}`;
}
/** The plaintext, or undefined when this secret key did not encrypt it. */
function decryptSecret(sealed) {
  const raw = Buffer.from(String(sealed).replace(/^\*standin-aes-gcm\*/, ''), 'base64');
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', sealKey(raw.subarray(0, 8)), raw.subarray(8, 20));
    decipher.setAuthTag(raw.subarray(20, 36));
    return Buffer.concat([decipher.update(raw.subarray(36)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
/** A data source's secrets as Grafana hands them to its plugin: none when they cannot be decrypted. */
function decryptedValues(ds) {
  const sealed = Object.entries(ds.secureJsonData || {});
  const plain = sealed.map(([key, value]) => [key, decryptSecret(value)]);
  if (plain.some(([, value]) => value === undefined)) {
    log('cannot decrypt the data source secrets with this GF_SECURITY_SECRET_KEY: used without them', {
      datasource: ds.uid,
    });
    return {};
  }
  return Object.fromEntries(plain);
}
// Provisioned data sources keep the password of their file (read at every start); API ones, sealed.
const basicAuthPassword = (ds) => (ds.secureJsonData ? decryptedValues(ds).basicAuthPassword || '' : ds.password);

// pkg/infra/slugify: lower case, runs of anything but letters and digits become one dash.
const slugify = (title) =>
  String(title)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
const dashboardUrl = (d) => `/d/${d.uid}/${d.slug}`;
const VALID_UID = /^[a-zA-Z0-9\-_]{1,40}$/; // util.IsValidShortUID
const dashboardError = (res, status, message, reason) =>
  reason ? send(res, status, { message, status: reason }) : error(res, status, message);

function saveDashboard(res, db, body) {
  const cmd = parseJson(body);
  if (!cmd?.dashboard || typeof cmd.dashboard !== 'object') return error(res, 400, 'bad request data');
  const model = { ...cmd.dashboard };
  const title = String(model.title ?? '').trim();
  if (!title) return dashboardError(res, 400, 'Dashboard title cannot be empty', 'empty-name');
  if (model.uid && !VALID_UID.test(model.uid)) return error(res, 400, 'uid contains illegal characters');
  const folderUid = String(cmd.folderUid ?? '');
  if (folderUid && !Object.values(db.folders).includes(folderUid)) return error(res, 404, 'Folder not found');
  const old = model.uid ? db.dashboards[model.uid] : undefined;
  if (old && !cmd.overwrite && Number(model.version ?? 0) !== old.version)
    return dashboardError(res, 412, 'The dashboard has been changed by someone else', 'version-mismatch');
  const uid = model.uid || shortUid();
  const saved = {
    id: old?.id || db.nextDashboardId++,
    uid,
    title,
    slug: slugify(title),
    version: (old?.version || 0) + 1,
    folderUid,
    created: old?.created || now(),
    updated: now(),
  };
  db.dashboards[uid] = { ...saved, data: { ...model, id: saved.id, uid, title, version: saved.version } };
  saveDb(db);
  const { id, slug, version } = saved;
  return send(res, 200, { folderUid, id, slug, status: 'success', uid, url: dashboardUrl(saved), version });
}

function dashboardMeta(d, provisioned) {
  const may = { canAdd: true, canDelete: true, canEdit: true };
  return {
    type: 'db',
    canSave: true,
    canEdit: true,
    canAdmin: true,
    canStar: true,
    canDelete: true,
    slug: d.slug,
    url: dashboardUrl(d),
    expires: '0001-01-01T00:00:00Z',
    created: d.created,
    updated: d.updated,
    updatedBy: 'admin',
    createdBy: 'admin',
    version: d.version,
    hasAcl: false,
    isFolder: false,
    folderId: 0,
    folderUid: d.folderUid,
    folderTitle: d.folderTitle || 'General',
    folderUrl: '',
    provisioned,
    provisionedExternalId: d.file || '',
    annotationsPermissions: { dashboard: may, organization: may },
    publicDashboardEnabled: false,
  };
}

// Provisioned dashboards, read from their providers' directories at start (Grafana stores them in
// its database too; the stand-in only lists and shows them).
let provisionedDashboards = {};
function readProvisionedDashboards(providers) {
  const found = {};
  for (const p of providers) {
    const dir = p.options?.path;
    const files = dir && fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
    for (const file of files) {
      const data = parseJson(fs.readFileSync(path.join(dir, file), 'utf8'));
      if (!data?.uid || !data.title) continue;
      const slug = slugify(data.title);
      const d = { id: 0, uid: data.uid, title: data.title, slug, version: data.version || 1, file, data };
      found[data.uid] = { ...d, folderUid: '', folderTitle: p.folder || 'General', created: now(), updated: now() };
    }
  }
  return found;
}

function getDashboard(res, db, uid) {
  const kept = db.dashboards[uid];
  const d = kept || provisionedDashboards[uid];
  if (!d) return error(res, 404, 'Dashboard not found');
  return send(res, 200, { dashboard: { ...d.data, version: d.version }, meta: dashboardMeta(d, !kept) });
}

function search(res, db, params) {
  const type = params.get('type');
  if (type && type !== 'dash-db') return send(res, 200, []);
  const query = (params.get('query') || '').toLowerCase();
  const all = [...Object.values(provisionedDashboards), ...Object.values(db.dashboards)];
  const hits = all
    .filter((d) => d.title.toLowerCase().includes(query))
    .sort((a, b) => compare(a.title.toLowerCase(), b.title.toLowerCase()))
    .map((d) => ({
      id: d.id,
      uid: d.uid,
      title: d.title,
      uri: `db/${d.slug}`,
      url: dashboardUrl(d),
      slug: '',
      type: 'dash-db',
      tags: d.data.tags || [],
      isStarred: false,
      ...(d.folderUid && { folderUid: d.folderUid }),
      sortMeta: 0,
    }));
  return send(res, 200, hits);
}

// dtos.DataSource; secureJsonFields lists the secrets that decrypt to something, never their values.
const datasourceJson = (ds) => ({
  id: ds.id,
  uid: ds.uid,
  orgId: 1,
  name: ds.name,
  type: ds.type,
  typeLogoUrl: `public/app/plugins/datasource/${ds.type}/img/${ds.type}_logo.svg`, // core plugins; not confirmed
  access: ds.access || 'proxy',
  url: ds.url,
  user: '',
  database: '',
  basicAuth: !!ds.basicAuth,
  basicAuthUser: ds.basicAuthUser || '',
  withCredentials: false,
  isDefault: !!ds.isDefault,
  jsonData: ds.jsonData,
  secureJsonFields: Object.fromEntries(
    Object.entries(ds.secureJsonData ? decryptedValues(ds) : { basicAuthPassword: ds.password })
      .filter(([, v]) => v)
      .map(([k]) => [k, true]),
  ),
  version: ds.version || 1,
  readOnly: !!ds.readOnly,
});

function addDatasource(res, db, body) {
  const cmd = parseJson(body);
  if (!cmd) return error(res, 400, 'bad request data');
  if (cmd.url && !/^https?:\/\/[^/]/.test(cmd.url)) return error(res, 400, 'Validation error, invalid URL');
  const known = Object.values(db.datasources);
  if (known.some((ds) => ds.name === cmd.name)) return error(res, 409, 'data source with the same name already exists');
  if (cmd.uid && db.datasources[cmd.uid]) return error(res, 409, 'data source with the same uid already exists');
  if (cmd.uid && !VALID_UID.test(cmd.uid)) return error(res, 400, 'Failed to add datasource');
  const uid = cmd.uid || shortUid();
  const secrets = Object.entries(cmd.secureJsonData || {}).filter(([, v]) => typeof v === 'string' && v);
  const ds = {
    id: db.nextDatasourceId++,
    uid,
    name: String(cmd.name ?? ''),
    type: String(cmd.type ?? ''),
    url: String(cmd.url ?? ''),
    access: cmd.access || 'proxy',
    basicAuth: !!cmd.basicAuth,
    basicAuthUser: String(cmd.basicAuthUser ?? ''),
    isDefault: !!cmd.isDefault,
    jsonData: cmd.jsonData && typeof cmd.jsonData === 'object' ? cmd.jsonData : {},
    secureJsonData: Object.fromEntries(secrets.map(([k, v]) => [k, encryptSecret(v)])),
    version: 1,
    readOnly: false,
  };
  db.datasources[uid] = ds;
  saveDb(db);
  return send(res, 200, { datasource: datasourceJson(ds), id: ds.id, message: 'Datasource added', name: ds.name });
}

function getDatasource(res, db, uid) {
  const ds = db.datasources[uid];
  if (!ds) return error(res, 404, 'Data source not found', false);
  return send(res, 200, datasourceJson(ds));
}

// ---- API --------------------------------------------------------------------------------------------
const omitEmpty = (key, map) => (Object.keys(map).length ? { [key]: map } : {}); // Go's omitempty on a map
// A ProvisionedAlertRule, its keys in the order of Grafana's struct.
const ruleJson = ({ id, updated, rule: r }) => ({
  id,
  uid: r.uid,
  orgID: r.orgID,
  folderUID: r.folderUID,
  ruleGroup: r.ruleGroup,
  title: r.title,
  condition: r.condition,
  data: r.data,
  updated,
  noDataState: r.noDataState,
  execErrState: r.execErrState,
  for: r.for,
  keep_firing_for: r.keep_firing_for,
  ...omitEmpty('annotations', r.annotations),
  ...omitEmpty('labels', r.labels),
  provenance: 'file',
  isPaused: r.isPaused,
  notification_settings: null,
  record: null,
});
// An EmbeddedContactPoint; "provenance" is left out when empty (the built-in default has none).
const contactPointJson = ({ uid, name, type, settings, disableResolveMessage, provenance }) => ({
  uid,
  name,
  type,
  settings: sortKeys(settings),
  disableResolveMessage,
  ...(provenance && { provenance }),
});
const compare = (x, y) => (x < y ? -1 : x > y ? 1 : 0); // byte order, as Go's strings.Compare
const byNameThenUid = (a, b) => compare(a.name, b.name) || compare(a.uid, b.uid);

async function handle(req, res) {
  const url = new URL(req.url, 'http://grafana');
  const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
  if (route === 'GET /api/health') {
    const health = JSON.stringify({ database: 'ok', version: VERSION, commit: 'standin' }, null, 2);
    return send(res, 200, health, 'application/json; charset=UTF-8');
  }
  const db = loadDb(); // read at every request: `grafana cli` may have changed it
  const auth = authenticate(req, db);
  if (!auth.user) return send(res, auth.status, auth.body);
  const body = await readBody(req);
  const health = /^GET \/api\/datasources\/uid\/([^/]+)\/health$/.exec(route);
  const adminPassword = /^PUT \/api\/admin\/users\/([^/]+)\/password$/.exec(route);
  if (health) return datasourceHealth(res, db, decodeURIComponent(health[1]));
  const datasource = /^GET \/api\/datasources\/uid\/([^/]+)$/.exec(route);
  const dashboard = /^GET \/api\/dashboards\/uid\/([^/]+)$/.exec(route);
  if (datasource) return getDatasource(res, db, decodeURIComponent(datasource[1]));
  if (dashboard) return getDashboard(res, db, decodeURIComponent(dashboard[1]));
  if (route === 'POST /api/datasources') return addDatasource(res, db, body);
  if (route === 'POST /api/dashboards/db') return saveDashboard(res, db, body);
  if (route === 'GET /api/search') return search(res, db, url.searchParams);
  if (adminPassword) return adminSetPassword(res, db, adminPassword[1], body);
  if (route === 'PUT /api/user/password') return changeOwnPassword(res, db, auth.user, body);
  if (route === 'GET /api/v1/provisioning/alert-rules') {
    const rules = Object.values(db.rules).sort((a, b) => a.id - b.id);
    return send(res, 200, rules.map(ruleJson));
  }
  const receiverTest = RECEIVER_TEST.exec(route);
  if (receiverTest) return testReceiver(res, db, receiverTest[1], receiverTest[2], body);
  if (route === 'POST /api/alertmanager/grafana/config/api/v1/receivers/test')
    return error(
      res,
      410,
      'This endpoint has been removed. Use /apis/notifications.alerting.grafana.app/v1beta1/namespaces/{namespace}/receivers/{uid}/test',
      false,
    );
  if (route === 'GET /api/v1/provisioning/contact-points') {
    const name = url.searchParams.get('name');
    const wanted = db.contactPoints.filter((c) => !name || c.name === name);
    return send(res, 200, wanted.sort(byNameThenUid).map(contactPointJson));
  }
  return send(res, 404, { message: 'Not found' });
}

// ---- testing a contact point ------------------------------------------------------------------------
// Grafana 13 answers the old /api/alertmanager/grafana/config/api/v1/receivers/test with 410 Gone
// (grafana/grafana#121692); the test lives on the receivers resource (v1beta1): the receiver's uid is
// base64url(name) (NameToUid), "default" is org 1's namespace. The integration's uid names a stored one
// whose secure settings fill the body's secureFields (ReceiverTestingService.PatchIntegrationAndTest).
// Grafana answers 200 {"status":"success"|"failure","duration"[,"error"]} whether or not the integration
// delivered (receiver/subresource.go). The messageIds of the 404s here were not checked against the source.
const RECEIVER_TEST =
  /^POST \/apis\/notifications\.alerting\.grafana\.app\/v1beta1\/namespaces\/([^/]+)\/receivers\/([^/]+)\/test$/;
const goDuration = (ms) =>
  ms < 1000 ? `${ms.toFixed(3).replace(/\.?0+$/, '')}ms` : `${(ms / 1000).toFixed(6).replace(/\.?0+$/, '')}s`;
// Discord's payload as Grafana's discord integration builds it, simplified: the default message is the
// alert's labels and annotations as text, the title an embed, username Grafana (grafana/alerting
// receivers/discord/v1/discord.go).
function discordPayload(alert) {
  const lines = (title, map) => [title, ...Object.entries(map || {}).map(([k, v]) => ` - ${k} = ${v}`)];
  const content = [...lines('Labels:', alert.labels), ...lines('Annotations:', alert.annotations)].join('\n');
  const title = `[FIRING:1] ${alert.labels?.alertname || 'TestAlert'}`;
  return {
    content,
    embeds: [{ title, footer: { text: 'Grafana' }, type: 'rich', color: 14037554 }],
    username: 'Grafana',
  };
}
// Go's TLS verifies against the system's CA bundle: the stand-in reads the same file.
const SYSTEM_CAS = '/etc/ssl/certs/ca-certificates.crt';
function postJson(url, payload) {
  return new Promise((resolve) => {
    const body = JSON.stringify(payload);
    const options = { method: 'POST', headers: { 'Content-Type': 'application/json' }, timeout: 30e3 };
    if (url.startsWith('https:') && fs.existsSync(SYSTEM_CAS)) options.ca = fs.readFileSync(SYSTEM_CAS);
    const req = (url.startsWith('https:') ? https : http).request(url, options, (res) => {
      readBody(res).then((text) =>
        resolve(
          res.statusCode < 300 ? {} : { error: `unexpected status code ${res.statusCode}: ${text.slice(0, 200)}` },
        ),
      );
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => resolve({ error: goError('POST', url, e) }));
    req.end(body);
  });
}
async function testReceiver(res, db, namespace, uid, body) {
  const name = Buffer.from(uid, 'base64url').toString();
  const notFound = (what) => send(res, 404, errutil(404, 'alerting.notifications.receivers.notFound', what));
  if (namespace !== 'default') return notFound(`namespace ${namespace} not found`);
  const receivers = db.contactPoints.filter((c) => c.name === name);
  if (!receivers.length) return notFound('receiver not found');
  const request = parseJson(body);
  const integration = request?.integration;
  if (!integration || typeof integration !== 'object' || !integration.type)
    return send(
      res,
      400,
      errutil(400, 'alerting.notifications.receivers.testing.invalidIntegration', 'invalid integration'),
    );
  const stored = integration.uid ? receivers.find((c) => c.uid === integration.uid) : undefined;
  if (integration.uid && !stored) return notFound('integration not found');
  const settings = { ...integration.settings };
  for (const [key, wanted] of Object.entries(integration.secureFields || {}))
    if (wanted) settings[key] = db.secureSettings?.[stored.uid]?.[key];
  if (integration.type !== 'discord')
    return send(
      res,
      400,
      errutil(400, 'alerting.notifications.receivers.invalid', 'the stand-in tests discord integrations only'),
    );
  if (!settings.url)
    return send(
      res,
      400,
      errutil(400, 'alerting.notifications.receivers.invalid', 'could not find webhook url property in settings'),
    );
  const started = Date.now();
  const { error: failed } = await postJson(settings.url, discordPayload(request.alert || {}));
  const duration = goDuration(Date.now() - started);
  log('test notification', { receiver: name, integration: integration.uid || '', error: failed || '' });
  return send(res, 200, { status: failed ? 'failure' : 'success', duration, ...(failed && { error: failed }) });
}

// ---- `grafana server` and `grafana cli admin reset-admin-password` ------------------------------------
function cli(args) {
  const option = (name) => args[args.indexOf(name) + 1];
  const words = args.filter((a, i) => !a.startsWith('-') && args[i - 1] !== '--user-id');
  if (words[0] !== 'admin' || words[1] !== 'reset-admin-password') {
    fatal(`the Grafana stand-in's cli knows only "admin reset-admin-password", not: ${args.join(' ')}`);
  }
  const password = args.includes('--password-from-stdin') ? fs.readFileSync(0, 'utf8').split('\n')[0] : words[2];
  const userId = Number(args.includes('--user-id') ? option('--user-id') : 1);
  if (String(password ?? '').length < 4) fatal('new password is too short');
  const db = loadDb();
  const user = db?.users.find((u) => u.id === userId);
  if (!user) fatal(`could not read user (id: ${userId}) from database. Error: user not found`);
  setPassword(user, password);
  saveDb(db);
  console.log('\nAdmin password changed successfully ✔');
}

function server() {
  // As Grafana: the database (and its admin user) exists before provisioning runs, even if that fails.
  let db;
  try {
    db = loadDb() || createDb();
    saveDb(db);
  } catch (e) {
    fatal(`failed to open the database ${DB_FILE}: ${e.message}`);
  }
  provision(db);
  saveDb(db);
  const counts = { datasources: Object.keys(db.datasources).length, rules: Object.keys(db.rules).length };
  log('finished provisioning', { ...counts, contactPoints: db.contactPoints.length });
  const port = Number(env.GF_SERVER_HTTP_PORT || 3000);
  const serve = (req, res) => handle(req, res).catch((e) => error(res, 500, `stand-in failure: ${e.message}`, false));
  http.createServer(serve).listen(port, () => log('HTTP Server Listen', { address: `[::]:${port}`, version: VERSION }));
  process.on('SIGTERM', () => process.exit(0));
}

const [command, ...args] = process.argv.slice(2);
if (command === 'cli') cli(args);
else if (command === 'server' || command === undefined) server();
else fatal(`unknown command ${command}; the Grafana stand-in knows "server" and "cli"`);
