#!/usr/bin/env node
// A local OpenID Provider (npm `oidc-provider` 9.x, a certified implementation)
// for oxmsal's generic-OIDC interop tests: crates/oxmsal/tests/oidc_provider.rs.
//
//   node server.mjs --cert leaf.pem --key leaf.key [--port 0] [--exit-with-stdin]
//
// Serves HTTPS on 127.0.0.1 with the provider mounted under /tenant1, so the
// issuer is https://localhost:PORT/tenant1 (the leaf certificate must name
// `localhost`). When it listens it prints exactly one JSON line on stdout,
// {"issuer": "...", "port": N, ...}; everything else goes to stderr. It stops on
// SIGTERM/SIGINT, and with --exit-with-stdin also when its stdin closes (so it
// cannot outlive a test process that died without killing it).
// `GET /_test/requests` (outside the issuer) counts the requests served so far,
// by method and path: {"POST /tenant1/token": 2, ...}.
//
// Options may also come from the environment: OIDC_PORT, OIDC_CERT, OIDC_KEY.
// Set OIDC_QUIET=1 to silence the per-request log on stderr.

import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import process from 'node:process';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const MOUNT = '/tenant1';
const HOST = '127.0.0.1';

// The fixtures the tests use. Test-only values: this provider never leaves the
// loopback interface and lives for one test process.
const PUBLIC_CLIENT_ID = 'oxmsal-public';
const PUBLIC_REDIRECT_URI = 'http://127.0.0.1/callback';
const DAEMON_CLIENT_ID = 'oxmsal-daemon';
const DAEMON_CLIENT_SECRET = 'oxmsal-daemon-secret-for-local-tests-only';
const API_RESOURCE = 'https://api.oxmsal.test';
const API_SCOPES = ['api.read', 'api.write'];
// RFC 8628 `interval` announced by the device authorization endpoint. oidc-provider
// sends none (clients then wait 5 s between polls); 1 s keeps the tests quick.
const DEVICE_POLL_INTERVAL_S = 1;

function fail(message) {
  process.stderr.write(`oidc-provider server: ${message}\n`);
  process.exit(2);
}

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.OIDC_PORT ?? '0' },
    cert: { type: 'string', default: process.env.OIDC_CERT },
    key: { type: 'string', default: process.env.OIDC_KEY },
    'exit-with-stdin': { type: 'boolean', default: false },
  },
  strict: true,
});

const port = Number.parseInt(args.port, 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad --port ${args.port}`);
if (!args.cert || !args.key) fail('--cert and --key (PEM files) are required');

let tls;
try {
  tls = { cert: readFileSync(args.cert), key: readFileSync(args.key) };
} catch (err) {
  fail(`cannot read the certificate or key: ${err.message}`);
}

const quiet = process.env.OIDC_QUIET === '1';
const log = (line) => {
  if (!quiet) process.stderr.write(`[oidc-provider] ${line}\n`);
};

// A fresh signing key per run (instead of oidc-provider's development keys).
// Generated as PEM and re-imported before the JWK export: exporting the
// KeyObject a key generation returned can deadlock Node 20 (a GC inside
// ExportJWKRsaKey runs ~KeyGenJob, which takes the mutex the export holds).
const { privateKey: pkcs8 } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const signingKey = {
  ...createPrivateKey(pkcs8).export({ format: 'jwk' }),
  kid: 'oxmsal-test',
  use: 'sig',
  alg: 'RS256',
};

const apiScopes = new Set(API_SCOPES);

const configuration = {
  clients: [
    {
      // A desktop/CLI app: no secret, PKCE, loopback redirect (any port, RFC 8252).
      client_id: PUBLIC_CLIENT_ID,
      client_name: 'oxmsal public client',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: [
        'authorization_code',
        'refresh_token',
        'urn:ietf:params:oauth:grant-type:device_code',
      ],
      response_types: ['code'],
      redirect_uris: [PUBLIC_REDIRECT_URI],
    },
    {
      // A daemon: client credentials with the secret in the form body.
      client_id: DAEMON_CLIENT_ID,
      client_name: 'oxmsal daemon',
      client_secret: DAEMON_CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  // Scopes are the keys here; `profile` must be one, since MSAL-style clients
  // always ask for `openid profile offline_access` (also when refreshing, and a
  // refresh may only ask for scopes the refresh token carries).
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  // Put the profile claims in the id token (oxmsal reads the username from it).
  conformIdTokenClaims: false,
  async findAccount(_ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          name: sub.charAt(0).toUpperCase() + sub.slice(1),
          preferred_username: `${sub}@oidc.test`,
          email: `${sub}@oidc.test`,
          email_verified: true,
        };
      },
    };
  },
  pkce: { required: () => true }, // S256 is the only method oidc-provider 9 supports
  features: {
    devInteractions: { enabled: true }, // plain HTML login and consent forms
    deviceFlow: { enabled: true },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Requests that ask for an API scope are for the API, with or without a
      // `resource` parameter (MSAL-style clients never send one).
      async defaultResource(ctx, _client, oneOf) {
        if (oneOf) return oneOf;
        const requested = (ctx.oidc.params.scope ?? '').split(' ');
        return requested.some((s) => apiScopes.has(s)) ? API_RESOURCE : undefined;
      },
      // Tokens from a code, device code or refresh token stay for the granted
      // API even though `openid` is asked for too.
      async useGrantedResource() {
        return true;
      },
      async getResourceServerInfo(_ctx, resourceIndicator) {
        if (resourceIndicator !== API_RESOURCE) {
          throw new Provider.errors.InvalidTarget();
        }
        return {
          scope: API_SCOPES.join(' '),
          audience: API_RESOURCE,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  // Refresh tokens: oidc-provider's default policy issues one to clients allowed
  // the refresh_token grant when `offline_access` was granted. For a code flow that
  // needs prompt=consent in the authorization request (OpenID Connect Core §11).
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    ClientCredentials: 3600,
    DeviceCode: 600,
    Grant: 3600,
    IdToken: 3600,
    Interaction: 600,
    RefreshToken: 86400,
    Session: 3600,
  },
};

const issuer = (p) => `https://localhost:${p}${MOUNT}`;

// The issuer needs the port, which a port-0 listen only knows afterwards: the
// server is started first and the provider attached once the port is known.
let handler = (_req, res) => {
  res.writeHead(503, { 'content-type': 'text/plain' }).end('starting\n');
};

// Requests seen, counted on arrival (before any answer): `GET /_test/requests`
// returns them, so a test can assert what reached the provider and what did not.
const seen = new Map();

const server = createServer(tls, (req, res) => {
  const started = process.hrtime.bigint();
  const path = req.url.split('?')[0];
  const key = `${req.method} ${path}`;
  if (key === 'GET /_test/requests') {
    const body = JSON.stringify(Object.fromEntries(seen));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  seen.set(key, (seen.get(key) ?? 0) + 1);
  res.on('finish', () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    log(`${key} -> ${res.statusCode} (${ms.toFixed(1)} ms)`);
  });
  if (req.url === MOUNT || req.url.startsWith(`${MOUNT}/`) || req.url.startsWith(`${MOUNT}?`)) {
    // Mount the provider as Express would: it derives its URLs from these.
    req.originalUrl = req.url;
    req.baseUrl = MOUNT;
    req.url = req.url.slice(MOUNT.length) || '/';
    if (req.url.startsWith('?')) req.url = `/${req.url}`;
    handler(req, res);
    return;
  }
  const body = JSON.stringify({ error: 'not_found', error_description: `the issuer is under ${MOUNT}` });
  res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});

server.on('error', (err) => fail(`cannot listen on ${HOST}:${port}: ${err.message}`));

server.listen(port, HOST, () => {
  const actual = server.address().port;
  const provider = new Provider(issuer(actual), configuration);

  // RFC 8628 §3.2: the device authorization response may carry `interval`.
  provider.on('device_authorization.success', (_ctx, body) => {
    body.interval = DEVICE_POLL_INTERVAL_S;
  });
  for (const event of ['server_error', 'authorization.error', 'grant.error', 'code_verification.error', 'device_authorization.error']) {
    provider.on(event, (_ctx, err) => log(`${event}: ${err.name}: ${err.message}${err.error_detail ? ` (${err.error_detail})` : ''}`));
  }
  handler = provider.callback();

  process.stdout.write(`${JSON.stringify({
    issuer: issuer(actual),
    port: actual,
    public_client_id: PUBLIC_CLIENT_ID,
    redirect_uri: PUBLIC_REDIRECT_URI,
    daemon_client_id: DAEMON_CLIENT_ID,
    api_resource: API_RESOURCE,
    api_scopes: API_SCOPES,
  })}\n`);
});

let stopping = false;
function stop(why) {
  if (stopping) return;
  stopping = true;
  log(`stopping (${why})`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  // Never hang on a stuck connection.
  setTimeout(() => process.exit(0), 2000).unref();
}

process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
if (args['exit-with-stdin']) {
  process.stdin.on('end', () => stop('stdin closed'));
  process.stdin.on('error', () => stop('stdin error'));
  process.stdin.resume();
}
