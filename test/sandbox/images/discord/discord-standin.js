// STAND-IN for Discord's webhook API (NOT Discord): the few calls the stack makes of a webhook URL,
// with Discord's paths, status codes and JSON shapes (discord/discord-api-docs
// developers/resources/webhook.mdx "Get Webhook with Token", "Execute Webhook";
// developers/topics/opcodes-and-status-codes.mdx JSON error codes):
//   GET  /api/webhooks/:id/:token   200 the webhook object without "user"; 404 {"message": "Unknown
//                                   Webhook", "code": 10015}; 401 {"message": "Invalid Webhook Token",
//                                   "code": 50027} for a known id with another token
//   POST /api/webhooks/:id/:token   204 (no ?wait=true message object); 400 {"message": "Cannot send an
//                                   empty message", "code": 50006} without content or embeds
// Webhooks come from WEBHOOKS ("id:token:name,…"). HTTPS with the certificate in CERT/KEY, on PORT.
// For the tests, not Discord's: GET /__sandbox/messages lists every accepted POST ({id, body}).
const fs = require('node:fs');
const https = require('node:https');

const env = process.env;
const webhooks = new Map(
  (env.WEBHOOKS || '')
    .split(',')
    .filter(Boolean)
    .map((w) => {
      const [id, token, name] = w.split(':');
      return [id, { id, token, name: name || 'sandbox webhook' }];
    }),
);
const messages = [];

function send(res, status, body) {
  if (body === undefined) return res.writeHead(status).end();
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

function webhookObject(w) {
  return {
    application_id: null,
    avatar: null,
    channel_id: '199737254929760256',
    guild_id: '199737254929760256',
    id: w.id,
    name: w.name,
    type: 1,
    token: w.token,
  };
}

function handle(req, res, body) {
  const url = new URL(req.url, 'https://discord.sandbox');
  if (req.method === 'GET' && url.pathname === '/__sandbox/messages') return send(res, 200, messages);
  const m = /^\/api(?:\/v\d+)?\/webhooks\/([^/]+)\/([^/]+)\/?$/.exec(url.pathname);
  if (!m) return send(res, 404, { message: '404: Not Found', code: 0 });
  const w = webhooks.get(m[1]);
  if (!w) return send(res, 404, { message: 'Unknown Webhook', code: 10015 });
  if (w.token !== m[2]) return send(res, 401, { message: 'Invalid Webhook Token', code: 50027 });
  if (req.method === 'GET') return send(res, 200, webhookObject(w));
  if (req.method !== 'POST') return send(res, 405, { message: '405: Method Not Allowed', code: 0 });
  let data;
  try {
    data = JSON.parse(body);
  } catch {
    return send(res, 400, { message: 'Cannot send an empty message', code: 50006 });
  }
  if (!data?.content && !data?.embeds?.length)
    return send(res, 400, { message: 'Cannot send an empty message', code: 50006 });
  messages.push({ id: w.id, body: data });
  return send(res, 204);
}

const server = https.createServer({ cert: fs.readFileSync(env.CERT), key: fs.readFileSync(env.KEY) }, (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => handle(req, res, Buffer.concat(chunks).toString()));
});
server.listen(Number(env.PORT || 8443), env.LISTEN || '0.0.0.0', () =>
  console.log(`discord stand-in listening on ${env.LISTEN || '0.0.0.0'}:${env.PORT || 8443}`),
);
process.on('SIGTERM', () => process.exit(0));
