import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRecords, encodeRecords, normalize } from '../../../src/db/store/record.js';
import { StoreRecordError } from '../../../src/db/store/errors.js';

test('records round-trip with rich values and opaque meta', () => {
  const records = [
    normalize({ table: 'admins', key: 'alice', value: { hash: Buffer.from([1, 2, 3]), at: new Date(5), tags: new Map([['a', 1n]]) }, meta: { hlc: { t: 1, c: 2, n: 'x@h' } } }),
    normalize({ table: 'admins', key: 'bob', value: 'will be dropped', deleted: true, meta: 7 }),
  ];
  const back = decodeRecords(encodeRecords(records));
  assert.deepEqual(back, records);
  assert.equal(back![1]!.value, undefined, 'a tombstone never carries a value');
  assert.equal(back![1]!.deleted, true);
  assert.equal('deleted' in back![0]!, false);
});

test('normalize rejects a missing table or a non-string key with a clear error', () => {
  assert.throws(() => normalize({ table: '', key: 'k', value: 1, meta: null }), (e: unknown) => e instanceof StoreRecordError && /table/.test(e.message));
  assert.throws(() => normalize({ table: 't', key: 5 as unknown as string, value: 1, meta: null }), (e: unknown) => e instanceof StoreRecordError && /key in table 't'/.test(e.message));
});

test('a value that cannot be serialized names the record', () => {
  assert.throws(
    () => encodeRecords([normalize({ table: 't', key: 'ok', value: 1, meta: null }), normalize({ table: 't', key: 'fn', value: () => 1, meta: null })]),
    (e: unknown) => e instanceof StoreRecordError && /'t'\/'fn'/.test(e.message),
  );
});

test('a payload that is not a batch decodes to undefined', () => {
  assert.equal(decodeRecords(Buffer.from('garbage')), undefined);
  assert.equal(decodeRecords(encodeRecords([]).subarray(0, 1)), undefined);
});
