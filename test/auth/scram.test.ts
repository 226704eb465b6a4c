// SCRAM's server side against RFC 7677's SCRAM-SHA-256 example and our test client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientFirst, scramSecret, serverFirst, verifyClientFinal, ScramError } from '../../src/auth/authn/scram.js';
import { ScramClient } from '../helpers/scram-client.js';

test('RFC 7677 example: the stored keys, the server-first message and the server signature', async () => {
  const secret = await scramSecret('sha256', 4096, 'pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'));
  const first = parseClientFirst(Buffer.from('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
  assert.equal(first.user, 'user');
  const pending = serverFirst(first, secret, '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0');
  assert.equal(pending.serverFirst, 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
  const final = Buffer.from('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
  assert.equal(verifyClientFinal(pending, secret, final), 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  // One bit of the proof changed: refused.
  const bad = Buffer.from('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU=');
  assert.throws(() => verifyClientFinal(pending, secret, bad), /wrong password/);
});

for (const algo of ['sha256', 'sha512'] as const) {
  test(`SCRAM-${algo}: our client against our server, right and wrong password`, async () => {
    const secret = await scramSecret(algo, 1000, 'päss,wörd');
    const ok = new ScramClient(algo, 'a,b=c', 'päss,wörd');
    const first = parseClientFirst(ok.first());
    assert.equal(first.user, 'a,b=c');
    const p = serverFirst(first, secret);
    const v = verifyClientFinal(p, secret, ok.final(Buffer.from(p.serverFirst)));
    assert.ok(ok.verifies(Buffer.from(v)));
    const wrong = new ScramClient(algo, 'a,b=c', 'nope');
    const p2 = serverFirst(parseClientFirst(wrong.first()), secret);
    assert.throws(() => verifyClientFinal(p2, secret, wrong.final(Buffer.from(p2.serverFirst))), ScramError);
  });
}

test('malformed and unsupported client messages are refused with a reason', async () => {
  const cases: Array<[string, RegExp]> = [
    ['', /not a SCRAM client-first/],
    ['p=tls-unique,,n=u,r=abc', /channel binding/],
    ['n,,m=ext,n=u,r=abc', /mandatory extensions/],
    ['n,,r=abc,n=u', /must start with n= and r=/],
    ['n,,n=a=b,r=abc', /bad escape/],
    ['n,,n=,r=abc', /empty/],
    ['n,,n=u,r=a\x01b', /not printable/],
  ];
  for (const [msg, why] of cases) assert.throws(() => parseClientFirst(Buffer.from(msg)), why, msg);
  const secret = await scramSecret('sha256', 1000, 'pw');
  const c = new ScramClient('sha256', 'u', 'pw');
  const p = serverFirst(parseClientFirst(c.first()), secret);
  const good = c.final(Buffer.from(p.serverFirst)).toString();
  assert.throws(() => verifyClientFinal(p, secret, Buffer.from(good.replace(/,p=.*/, ''))), /no proof/);
  assert.throws(() => verifyClientFinal(p, secret, Buffer.from(good.replace('c=biws', 'c=eSws'))), /channel binding/);
  assert.throws(() => verifyClientFinal(p, secret, Buffer.from(good.replace(/r=[^,]*/, 'r=other'))), /nonce/);
  assert.throws(() => verifyClientFinal(p, secret, Buffer.from(good.replace(/p=.*/, 'p=AAAA'))), /wrong length/);
});
