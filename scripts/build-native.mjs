#!/usr/bin/env node
// Builds the tiny C client behind bin/emqx_ctl's fast path (see native/emqx_ctl.c).
// Optional: without a C compiler the launcher falls back to the Node.js client.
// Usage: node scripts/build-native.mjs [outDir]. scripts/build.mjs passes the fresh tree it is
// building; without an argument the binary goes into build/ (the current tree, in place).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const src = join(root, 'native', 'emqx_ctl.c');
if (!existsSync(src)) process.exit(0);
const outDir = process.argv[2] !== undefined ? resolve(process.argv[2]) : join(root, 'build');
mkdirSync(outDir, { recursive: true });
const cc = process.env.CC ?? 'cc';
const res = spawnSync(cc, ['-O2', '-Wall', '-o', join(outDir, 'emqx_ctl'), src], { stdio: 'inherit' });
if (res.status !== 0) {
  console.warn('note: could not build the native emqx_ctl client; bin/emqx_ctl will use the Node.js client');
}
