import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeManifest, encodeManifest } from '../../../src/db/store/manifest.js';

test('the manifest round-trips', () => {
  const m = { format: 1, snapshot: 12, firstLog: 7 } as const;
  assert.deepEqual(decodeManifest(encodeManifest(m)), { manifest: m });
  assert.deepEqual(decodeManifest(encodeManifest({ format: 1, snapshot: null, firstLog: 1 })), { manifest: { format: 1, snapshot: null, firstLog: 1 } });
});

test('every single-byte flip and every truncation of a manifest is detected', () => {
  const good = encodeManifest({ format: 1, snapshot: 3, firstLog: 4 });
  for (let i = 0; i < good.length; i++) {
    const bad = Buffer.from(good);
    bad[i] = bad[i]! ^ 0x10;
    assert.ok('problem' in decodeManifest(bad), `flip at ${i} went unnoticed`);
  }
  for (let n = 0; n < good.length; n++) assert.ok('problem' in decodeManifest(good.subarray(0, n)), `truncation to ${n} went unnoticed`);
});
