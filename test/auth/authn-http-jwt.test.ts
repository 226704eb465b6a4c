// HTTP and JWT authentication against a running node with real clients: an HTTP service on
// loopback decides (allow, deny, ignore, 204, a 500 and no answer falling through to the next
// authenticator, a superuser past the ACL), sees the credentials as the body template says (JSON,
// GET query); JWTs signed with a secret (HS256) and with an RSA and an EC key are accepted, and
// expired ones, forged ones, `alg: none` and ones whose claims do not match are refused; a
// token's acl claim decides alone for its client; a client is disconnected when its token expires.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createTestNode, type TestNode } from '../helpers/launcher.js';
import { closeAll, RawClient, uniq } from '../helpers/mqtt-client.js';
import { connackCode, rawSession, subackCodes, writeAcl } from './helpers.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly contentType: string | undefined;
  readonly body: Record<string, string>;
}

/** The HTTP auth service: answers per user name, remembers what it was sent. */
async function authService(): Promise<{ server: Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      const url = new URL(req.url ?? '/', 'http://x');
      const body = req.method === 'GET' ? Object.fromEntries(url.searchParams) : (JSON.parse(text || '{}') as Record<string, string>);
      seen.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], body });
      const user = body.username ?? '';
      const json = (o: unknown): void => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(o));
      };
      if (user === 'slow') return; // never answers: the request times out
      // EMQX 5.8: the client's own rules and the end of its authentication.
      if (user === 'allow-acl') return json({ result: 'allow', acl: [{ permission: 'allow', action: 'subscribe', topic: 'acl/${username}' }], expire_at: Math.floor(Date.now() / 1000) + 2 });
      if (user.startsWith('allow')) return json({ result: 'allow', is_superuser: user === 'allow-super' });
      if (user === 'deny') return json({ result: 'deny' });
      if (user === 'nocontent') {
        res.writeHead(204);
        return res.end();
      }
      if (user === 'broken') {
        res.writeHead(500);
        return res.end('oops');
      }
      return json({ result: 'ignore' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
function jwtHs256(secret: string, claims: Record<string, unknown>, alg = 'HS256'): string {
  const body = `${b64({ alg, typ: 'JWT' })}.${b64(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}
function jwtWithKey(key: KeyObject, alg: 'RS256' | 'ES256', claims: Record<string, unknown>): string {
  const body = `${b64({ alg, typ: 'JWT' })}.${b64(claims)}`;
  const sig = alg === 'ES256' ? sign('sha256', Buffer.from(body), { key, dsaEncoding: 'ieee-p1363' }) : sign('sha256', Buffer.from(body), key);
  return `${body}.${sig.toString('base64url')}`;
}

describe('HTTP authentication', () => {
  let node: TestNode;
  let svc: Awaited<ReturnType<typeof authService>>;

  before(async () => {
    svc = await authService();
    node = await createTestNode(undefined, {
      name: 'authnhttp@127.0.0.1',
      mqtt: true,
      conf: `authentication = [
  {
    mechanism = password_based
    backend = http
    method = post
    url = "http://127.0.0.1:${svc.port}/auth/\${clientid}"
    body { username = "\${username}", password = "\${password}", clientid = "\${clientid}", peer = "\${peerhost}" }
    request_timeout = 1s
  },
  { mechanism = password_based, backend = built_in_database, password_hash_algorithm { name = sha256 } }
]
authorization { no_match = deny, sources = [{ type = file, path = "\${EMQX_ETC_DIR}/acl.conf" }] }`,
    });
    writeAcl(node.etcDir, '%% no rules\n');
    await node.startOk();
  });

  after(async () => {
    await closeAll();
    RawClient.destroyAll();
    await node?.cleanup();
    svc?.server.close();
  });

  test('the service decides; what it does not decide falls through to the next authenticator', async () => {
    const port = node.mqttPort!;
    const conn = async (username: string, password = 'pw', level: 4 | 5 = 5): Promise<number> => {
      const r = await connackCode(port, level, `c-${uniq()}`, { username, password: Buffer.from(password) });
      r.raw.destroy();
      return r.rc;
    };
    assert.equal(await conn('allow-1'), 0);
    const last = svc.seen[svc.seen.length - 1]!;
    assert.equal(last.method, 'POST');
    assert.match(last.url, /^\/auth\/c-[0-9a-f]+$/, 'placeholders in the URL');
    assert.equal(last.contentType, 'application/json');
    assert.deepEqual(Object.keys(last.body).sort(), ['clientid', 'password', 'peer', 'username']);
    assert.deepEqual([last.body.username, last.body.password, last.body.peer], ['allow-1', 'pw', '127.0.0.1']);

    assert.equal(await conn('deny'), 0x87, 'deny: not authorized');
    assert.equal(await conn('deny', 'pw', 4), 5);
    assert.equal(await conn('nocontent'), 0, '204: allowed');
    // ignore, a 500 and no answer within request_timeout: the built_in_database decides.
    assert.equal((await node.ctl(['users', 'add', 'broken', 'right'])).code, 0);
    assert.equal(await conn('broken', 'right'), 0);
    assert.equal(await conn('broken', 'wrong'), 0x86);
    assert.equal(await conn('someone'), 0x86, 'ignored, unknown to the database');
    const t0 = Date.now();
    assert.equal(await conn('slow'), 0x86);
    assert.ok(Date.now() - t0 >= 900, 'waited for request_timeout');
    assert.match(node.logText(), /authentication: http decided nothing/);

    // A superuser passes the ACL (no_match = deny): its SUBSCRIBE is granted.
    const sup = await rawSession(port, 5, `s-${uniq()}`, { username: 'allow-super', password: Buffer.from('x') });
    assert.deepEqual(await subackCodes(sup, ['any/topic']), [1]);
    const plain = await rawSession(port, 5, `p-${uniq()}`, { username: 'allow-plain', password: Buffer.from('x') });
    assert.deepEqual(await subackCodes(plain, ['any/topic']), [0x87]);

    // The answer's acl alone decides for its client; expire_at ends the connection then.
    const t1 = Date.now();
    const acl = await rawSession(port, 5, `a-${uniq()}`, { username: 'allow-acl', password: Buffer.from('x') });
    assert.deepEqual(await subackCodes(acl, ['acl/allow-acl', 'any/topic']), [1, 0x87]);
    const d = await acl.next((q) => q.cmd === 'disconnect', 6000, 'the DISCONNECT at expire_at');
    assert.equal((d as { reasonCode?: number }).reasonCode, 0x87);
    assert.ok(Date.now() - t1 >= 900, 'not before expire_at');
  });
});

describe('JWT authentication', () => {
  let node: TestNode;
  const secret = 'a-shared-secret-of-decent-length';
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  let ecNode: TestNode;

  before(async () => {
    node = await createTestNode(undefined, {
      name: 'authnjwt@127.0.0.1',
      mqtt: true,
      conf: `authentication = [{ mechanism = jwt, from = password, use_jwks = false, algorithm = "hmac-based", secret = "${secret}", verify_claims { sub = "\${username}" } }]`,
    });
    await node.startOk();
    const pem = (k: KeyObject): string => k.export({ type: 'spki', format: 'pem' }).toString().replace(/\n/g, '\\n');
    ecNode = await createTestNode(undefined, {
      name: 'authnjwtkey@127.0.0.1',
      mqtt: true,
      conf: `authentication = [{ mechanism = jwt, from = username, algorithm = "public-key", public_key = "${pem(ec.publicKey)}" }]`,
    });
    await ecNode.startOk();
    void rsa;
  });

  after(async () => {
    await closeAll();
    RawClient.destroyAll();
    await node?.cleanup();
    await ecNode?.cleanup();
  });

  test('a token signed with the secret, valid and with matching claims, lets the client in; others are refused', async () => {
    const port = node.mqttPort!;
    const now = Math.floor(Date.now() / 1000);
    const conn = async (username: string, token: string | undefined): Promise<number> => {
      const r = await connackCode(port, 5, `j-${uniq()}`, { username, ...(token !== undefined ? { password: Buffer.from(token) } : {}) });
      r.raw.destroy();
      return r.rc;
    };
    assert.equal(await conn('dev1', jwtHs256(secret, { sub: 'dev1', exp: now + 60 })), 0);
    assert.equal(await conn('dev1', jwtHs256(secret, { sub: 'dev1', exp: now - 1 })), 0x86, 'expired');
    assert.equal(await conn('dev1', jwtHs256(secret, { sub: 'dev1', nbf: now + 60 })), 0x86, 'not valid yet');
    assert.equal(await conn('dev1', jwtHs256('another-secret', { sub: 'dev1' })), 0x86, 'forged');
    assert.equal(await conn('dev2', jwtHs256(secret, { sub: 'dev1' })), 0x86, 'claims of another client');
    assert.equal(await conn('dev1', `${b64({ alg: 'none' })}.${b64({ sub: 'dev1' })}.`), 0x86, 'alg none');
    assert.equal(await conn('dev1', 'not-a-jwt'), 0x86);
    assert.equal(await conn('dev1', undefined), 0x87, 'no token: nobody of the chain knows the client');
  });

  test("the token's acl claim alone decides what the client may do; a bad one refuses the client", async () => {
    const port = node.mqttPort!;
    const now = Math.floor(Date.now() / 1000);
    const token = jwtHs256(secret, {
      sub: 'acl1',
      exp: now + 600,
      acl: [
        { permission: 'allow', action: 'subscribe', topic: 'dev/${username}/#' },
        { permission: 'deny', action: 'all', topic: 'dev/acl1/secret' },
      ],
    });
    const c = await rawSession(port, 5, `acl-${uniq()}`, { username: 'acl1', password: Buffer.from(token) });
    // First match wins, placeholders filled, and what no rule allows is refused.
    assert.deepEqual(await subackCodes(c, ['dev/acl1/a', 'dev/acl2/a', 'other']), [1, 0x87, 0x87]);
    const old = jwtHs256(secret, { sub: 'acl2', acl: { sub: ['a/#'], pub: ['b'] } });
    const c2 = await rawSession(port, 5, `acl-${uniq()}`, { username: 'acl2', password: Buffer.from(old) });
    assert.deepEqual(await subackCodes(c2, ['a/x', 'b']), [1, 0x87], 'the older {pub, sub, all} form');
    const bad = await connackCode(port, 5, `acl-${uniq()}`, { username: 'acl3', password: Buffer.from(jwtHs256(secret, { sub: 'acl3', acl: [{ permission: 'maybe', action: 'all', topic: 'x' }] })) });
    assert.equal(bad.rc, 0x86);
  });

  test('a client whose token expires is disconnected then (disconnect_after_expire)', async () => {
    const port = node.mqttPort!;
    const exp = Math.floor(Date.now() / 1000) + 2;
    const c = await rawSession(port, 5, `exp-${uniq()}`, { username: 'exp1', password: Buffer.from(jwtHs256(secret, { sub: 'exp1', exp })) });
    const d = await c.next((p) => p.cmd === 'disconnect', 6000, 'the DISCONNECT at expiry');
    assert.equal((d as { reasonCode?: number }).reasonCode, 0x87);
    assert.ok(Date.now() >= exp * 1000, 'not before the exp');
  });

  test('a token signed with the private key of the configured public key (EC), taken from the user name', async () => {
    const port = ecNode.mqttPort!;
    const good = jwtWithKey(ec.privateKey, 'ES256', { sub: 'x' });
    const r = await connackCode(port, 5, `k-${uniq()}`, { username: good });
    r.raw.destroy();
    assert.equal(r.rc, 0);
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const bad = await connackCode(port, 5, `k-${uniq()}`, { username: jwtWithKey(other.privateKey, 'ES256', { sub: 'x' }) });
    assert.equal(bad.rc, 0x86);
    const rsaToken = await connackCode(port, 5, `k-${uniq()}`, { username: jwtWithKey(rsa.privateKey, 'RS256', { sub: 'x' }) });
    assert.equal(rsaToken.rc, 0x86, 'an RS256 token against an EC key');
  });
});

describe('JWT authentication with keys from a JWKS endpoint', () => {
  let node: TestNode;
  let server: Server;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  let fetched = 0;

  before(async () => {
    const jwk = (k: KeyObject, kid: string): Record<string, unknown> => ({ ...k.export({ format: 'jwk' }), kid });
    server = createServer((_req, res) => {
      fetched++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk(rsa.publicKey, 'rsa-1'), jwk(ec.publicKey, 'ec-1'), { kty: 'oct', k: 'c2VjcmV0', kid: 'sym' }] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    node = await createTestNode(undefined, {
      name: 'authnjwks@127.0.0.1',
      mqtt: true,
      conf: `authentication = [{ mechanism = jwt, use_jwks = true, endpoint = "http://127.0.0.1:${port}/jwks", refresh_interval = 10s }]`,
    });
    await node.startOk();
  });

  after(async () => {
    await closeAll();
    RawClient.destroyAll();
    await node?.cleanup();
    server?.close();
  });

  test('tokens signed by a key of the set (named by kid or not) are accepted; others are refused', async () => {
    const port = node.mqttPort!;
    const conn = async (token: string): Promise<number> => {
      const r = await connackCode(port, 5, `w-${uniq()}`, { username: 'u', password: Buffer.from(token) });
      r.raw.destroy();
      return r.rc;
    };
    const withKid = (key: KeyObject, alg: 'RS256' | 'ES256', kid: string | undefined): string => {
      const body = `${b64({ alg, typ: 'JWT', ...(kid ? { kid } : {}) })}.${b64({ sub: 'u' })}`;
      const sig = alg === 'ES256' ? sign('sha256', Buffer.from(body), { key, dsaEncoding: 'ieee-p1363' }) : sign('sha256', Buffer.from(body), key);
      return `${body}.${sig.toString('base64url')}`;
    };
    // The first fetch happens as the node starts: until it is in, the authenticator decides nothing.
    const t0 = Date.now();
    while ((await conn(withKid(rsa.privateKey, 'RS256', 'rsa-1'))) !== 0) {
      assert.ok(Date.now() - t0 < 10_000, 'the JWKS was never fetched');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(fetched >= 1);
    assert.equal(await conn(withKid(ec.privateKey, 'ES256', 'ec-1')), 0);
    assert.equal(await conn(withKid(ec.privateKey, 'ES256', undefined)), 0, 'no kid: every key is tried');
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
    assert.equal(await conn(withKid(stranger.privateKey, 'RS256', 'rsa-1')), 0x86, 'a key outside the set');
    assert.equal(await conn(withKid(stranger.privateKey, 'RS256', 'nope')), 0x86);
  });
});

describe('the HTTP request and answer, without a node', () => {
  test('GET puts the fields in the query; POST a form when the content type says so; answers read as EMQX reads them', async () => {
    const { decide } = await import('../../src/auth/authn/http-authn.js');
    const { buildRequest } = await import('../../src/auth/http-request.js');
    const { credentialVars } = await import('../../src/auth/authn/decision.js');
    const base = { request_timeout: 1000, pool_size: 1 } as const;
    const c = credentialVars({ clientid: 'c/1', username: 'u 1', password: Buffer.from('p&w') });
    const get = buildRequest({ ...base, method: 'get', url: 'http://127.0.0.1:1/a?x=${clientid}', headers: {}, body: { u: '${username}', p: '${password}', none: '${cert_common_name}' } }, c);
    assert.equal(get.url.toString(), 'http://127.0.0.1:1/a?x=c%2F1&u=u+1&p=p%26w&none=');
    assert.equal(get.body, undefined);
    const form = buildRequest({ ...base, method: 'post', url: 'http://127.0.0.1:1/a', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: { u: '${username}' } }, c);
    assert.equal(form.body, 'u=u+1');
    assert.deepEqual(decide(200, 'application/x-www-form-urlencoded', 'result=allow&is_superuser=true'), { kind: 'allow', superuser: true });
    assert.deepEqual(decide(200, 'application/json', '{"result":"deny"}').kind, 'deny');
    assert.equal(decide(200, 'application/json', 'not json').kind, 'ignore');
    assert.equal(decide(200, 'application/json', '{}').kind, 'ignore', 'no result: ignore');
    assert.equal(decide(403, 'application/json', '{"result":"allow"}').kind, 'ignore', 'only 200 and 204 decide');
    // EMQX 5.8: the answer may carry the client's rules and when its authentication ends.
    const exp = Math.floor(Date.now() / 1000) + 60;
    const withAcl = decide(200, 'application/json', JSON.stringify({ result: 'allow', acl: [{ permission: 'allow', action: 'publish', topic: 't/1' }], expire_at: exp }));
    assert.deepEqual(withAcl, { kind: 'allow', superuser: false, acl: { rules: [{ permission: 'allow', action: 'publish', topic: 't/1' }] }, expiresAt: exp * 1000 });
    assert.equal(decide(200, 'application/json', '{"result":"allow","acl":[{"permission":"maybe","topic":"t"}]}').kind, 'ignore', 'a malformed acl decides nothing');
    assert.equal(decide(200, 'application/json', '{"result":"allow","expire_at":"soon"}').kind, 'ignore');
    assert.equal(decide(200, 'application/json', '{"result":"allow","expire_at":1000}').kind, 'deny', 'already expired');
  });
});
