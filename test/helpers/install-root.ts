// A scratch install root for loading configuration: etc/emqx.conf holding `conf`, and any other
// files by path from the root; removed after the test.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export function installRoot(t: { after: (fn: () => void) => void }, conf: string | undefined, extra: Readonly<Record<string, string>> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'emqx-root-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'etc'));
  if (conf !== undefined) writeFileSync(join(root, 'etc', 'emqx.conf'), conf);
  for (const [name, text] of Object.entries(extra)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return root;
}
