// bin/node-env.sh: the environment bin/emqx gives node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const NODE_ENV_SH = fileURLToPath(new URL('../../bin/node-env.sh', import.meta.url));

/** GLIBC_TUNABLES after sourcing the file, as the dynamic loader of `node` would read it. */
function tunables(operator: string | undefined): Map<string, string> {
  const env = { ...process.env };
  delete env.GLIBC_TUNABLES;
  if (operator !== undefined) env.GLIBC_TUNABLES = operator;
  const raw = execFileSync('sh', ['-c', `. "${NODE_ENV_SH}" && exec node -e 'process.stdout.write(process.env.GLIBC_TUNABLES ?? "")'`], { env }).toString();
  // Later assignments win, as in glibc's parser.
  return new Map(raw.split(':').map((kv) => kv.split('=') as [string, string]));
}

test('keeps freed heap memory from going straight back to the kernel', () => {
  const t = tunables(undefined);
  assert.equal(t.get('glibc.malloc.trim_threshold'), String(32 * 1024 * 1024));
  assert.equal(t.get('glibc.malloc.mmap_threshold'), String(4 * 1024 * 1024));
});

test("the operator's own tunables are kept and win over ours", () => {
  const t = tunables('glibc.malloc.trim_threshold=1048576:glibc.malloc.arena_max=2');
  assert.equal(t.get('glibc.malloc.trim_threshold'), '1048576');
  assert.equal(t.get('glibc.malloc.arena_max'), '2');
  assert.equal(t.get('glibc.malloc.mmap_threshold'), String(4 * 1024 * 1024));
});
