// Public entry points of the HOCON parser: text or file → fully resolved plain data, with the
// origin (file:line:column) of every key kept for error messages further up.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { HoconError } from './errors.js';
import { parseDocument, parseValueText } from './parser.js';
import type { IncludeRequest, Includer } from './parser.js';
import { parseProperties } from './properties.js';
import { Resolver } from './resolver.js';
import type { Env } from './resolver.js';
import { toPlain } from './values.js';
import type { FieldNode } from './ast.js';

export { HoconError } from './errors.js';
export type { HoconErrorCode } from './errors.js';

export interface HoconOrigin { file: string; line: number; column: number }

export interface HoconParseOptions {
  /** Used in messages and as the base for relative includes. */
  file?: string;
  /** Defaults to fs.readFileSync utf8 (tests may inject). */
  readFile?: (absPath: string) => string;
  /** For ${?VAR}/${VAR} environment fallback; default process.env. */
  env?: Record<string, string | undefined>;
}

export interface HoconDocument {
  /** Fully resolved, plain JSON data. */
  readonly value: Record<string, unknown>;
  /** Where the value at a key path was set (last definition wins). */
  originOf(path: readonly string[]): HoconOrigin | undefined;
}

const STRING_FILE = '<string>';

export function parseHocon(text: string, opts: HoconParseOptions = {}): HoconDocument {
  const file = opts.file ?? STRING_FILE;
  try {
    return parseUnguarded(text, file, opts);
  } catch (err) {
    // The parser bounds its own recursion; this only keeps a stack overflow from reaching the
    // operator as a stack trace should some input still get there.
    if (err instanceof RangeError) {
      throw new HoconError('hocon_syntax', { file, line: 1, column: 1 }, 'the configuration is nested too deeply to process');
    }
    throw err;
  }
}

function parseUnguarded(text: string, file: string, opts: HoconParseOptions): HoconDocument {
  const readFile = opts.readFile ?? defaultReadFile;
  const env: Env = opts.env ?? process.env;
  const absFile = file === STRING_FILE ? nodePath.join(process.cwd(), STRING_FILE) : nodePath.resolve(file);
  const include = makeIncluder(file, absFile, [canonical(absFile, opts.readFile === undefined)], readFile, opts.readFile === undefined);
  const root = parseDocument(text, { file, prefix: [], include });
  const resolver = new Resolver(root, env);
  const value = toPlain(resolver.resolveRoot()) as Record<string, unknown>;
  return {
    value,
    originOf: (path) => {
      const o = resolver.originOf(path);
      return o === undefined ? undefined : { file: o.file, line: o.line, column: o.column };
    },
  };
}

export function parseHoconFile(path: string, opts: Omit<HoconParseOptions, 'file'> = {}): HoconDocument {
  const readFile = opts.readFile ?? defaultReadFile;
  let text: string;
  try {
    text = readFile(nodePath.resolve(path));
  } catch (err) {
    throw new HoconError('hocon_include', { file: path, line: 1, column: 1 }, `cannot read the file: ${describeFsError(err)}`);
  }
  return parseHocon(text, { ...opts, file: path });
}

/** Parses `text` as if written `k = <text>` (used for EMQX_* environment overrides); throws HoconError. */
export function parseHoconValue(text: string): unknown {
  const include: Includer = (req) => {
    throw new HoconError('hocon_include', req.at, 'include is not allowed in a single value');
  };
  const node = parseValueText(text, { file: STRING_FILE, prefix: [], include });
  const resolver = new Resolver({ k: 'object', fields: [], origin: node.origin }, {});
  const v = resolver.resolveValue(node);
  return v === undefined ? undefined : toPlain(v);
}

function defaultReadFile(absPath: string): string {
  return fs.readFileSync(absPath, 'utf8');
}

function canonical(absPath: string, realFs: boolean): string {
  if (!realFs) return absPath;
  try {
    return fs.realpathSync(absPath);
  } catch {
    return absPath;
  }
}

function fsCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function describeFsError(err: unknown): string {
  const code = fsCode(err);
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES') return 'permission denied';
  return err instanceof Error ? err.message : String(err);
}

const KNOWN_EXT = ['.conf', '.json', '.properties'];

/**
 * `include "name"`: a relative name is relative to the including file. A name without one of the
 * known extensions loads name.properties, name.json and name.conf (later ones win), as the
 * reference implementation does; when none exists, a file with exactly that name is used.
 */
function makeIncluder(displayFile: string, absFile: string, stack: readonly string[], readFile: (p: string) => string, realFs: boolean): Includer {
  return (req: IncludeRequest): FieldNode[] => {
    const target = nodePath.resolve(nodePath.dirname(absFile), req.name);
    const display = nodePath.isAbsolute(req.name) ? req.name : nodePath.join(nodePath.dirname(displayFile), req.name);
    const candidates = KNOWN_EXT.includes(nodePath.extname(req.name))
      ? [{ abs: target, display }]
      : [...['.properties', '.json', '.conf'].map((ext) => ({ abs: target + ext, display: display + ext })), { abs: target, display }];
    const fields: FieldNode[] = [];
    let found = false;
    for (const [idx, cand] of candidates.entries()) {
      // The exact name is only a fallback when no name.conf/json/properties exists.
      if (found && idx === candidates.length - 1 && candidates.length > 1) break;
      let text: string;
      try {
        text = readFile(cand.abs);
      } catch (err) {
        const code = fsCode(err);
        if (code === 'ENOENT' || code === 'ENOTDIR') continue;
        // A directory named like an extensionless include is not a candidate file.
        if (code === 'EISDIR' && candidates.length > 1) continue;
        throw new HoconError('hocon_include', req.at, `cannot include ${JSON.stringify(req.name)}: ${cand.display}: ${describeFsError(err)}`);
      }
      const canon = canonical(cand.abs, realFs);
      if (stack.includes(canon)) {
        const same = canon === cand.abs ? '' : ` (${canon})`;
        throw new HoconError('hocon_include', req.at, `include cycle: ${cand.display}${same} is already being included (expected each file to be included at most once along a chain)`);
      }
      found = true;
      if (cand.abs.endsWith('.properties')) {
        fields.push(...parseProperties(text, cand.display));
        continue;
      }
      const include = makeIncluder(cand.display, cand.abs, [...stack, canon], readFile, realFs);
      const doc = parseDocument(text, { file: cand.display, prefix: req.prefix, include });
      fields.push(...doc.fields);
    }
    if (!found && req.required) {
      throw new HoconError('hocon_include', req.at, `required include file not found: ${display}`);
    }
    return fields;
  };
}
