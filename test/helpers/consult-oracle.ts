// Erlang's own file:consult as a test oracle, and the conversion of our parse into the oracle's
// tagged JSON (the format of shared/tools/consult2json.escript) so that the two compare directly.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ErlTerm } from '../../src/config/erlang-terms.js';

const run = promisify(execFile);

/** shared/ sits next to the project root. */
export const SHARED_ORACLE = resolve(fileURLToPath(new URL('../../../shared/tools/consult2json.escript', import.meta.url)));

/** Numbers are kept as tagged values: JSON would lose big integers and the 1 / 1.0 difference. */
export type OracleValue =
  | string | { readonly int: string } | { readonly float: number }
  | { readonly atom: string } | { readonly tuple: OracleValue } | { readonly binary: string }
  | OracleValue[];

export type OracleResult =
  | { readonly ok: true; readonly value: OracleValue }
  /** Erlang read the file but the printer cannot show the terms (maps, improper lists, non-UTF-8 binaries). */
  | { readonly ok: true; readonly unprintable: true }
  /** line 0: file:consult itself crashed on the input. */
  | { readonly ok: false; readonly line: number; readonly message: string };

export function escriptPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, 'escript');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

// The shared oracle's term printer, unchanged, behind a loop over many files: escript start-up
// costs about a second, so one run serves a whole batch.
const BATCH_ESCRIPT = String.raw`#!/usr/bin/env escript
-mode(compile).
main(Files) ->
    io:setopts([{encoding, unicode}]),
    lists:foreach(fun one/1, Files).
one(F) ->
    %% Some inputs (e.g. "a; f() -> b.") crash file:consult itself.
    case try file:consult(F) catch C:E -> {crash, {C, E}} end of
        {crash, Why} -> io:format("~ts\tCRASH\t~0p~n", [F, Why]);
        {ok, Terms} ->
            try lists:flatten(io_lib:format("~ts", [j(Terms)])) of
                Json -> io:format("~ts\tOK\t~ts~n", [F, Json])
            catch _:_ -> io:format("~ts\tUNPRINTABLE~n", [F])
            end;
        {error, {Line, Mod, Desc}} -> io:format("~ts\tERR\t~p\t~ts~n", [F, Line, esc_nl(lists:flatten(Mod:format_error(Desc)))]);
        {error, Reason} -> io:format("~ts\tERR\t0\t~p~n", [F, Reason])
    end.
esc_nl(S) -> [case C of $\n -> " "; _ -> C end || C <- S].
j(A) when is_atom(A) -> ["{\"atom\":", s(atom_to_list(A)), "}"];
j(I) when is_integer(I) -> integer_to_list(I);
j(X) when is_float(X) -> float_to_list(X, [short]);
j(B) when is_binary(B) -> ["{\"binary\":", s(unicode:characters_to_list(B)), "}"];
j(T) when is_tuple(T) -> ["{\"tuple\":", j(tuple_to_list(T)), "}"];
j(L) when is_list(L) -> case L =/= [] andalso io_lib:printable_unicode_list(L) of
    true -> s(L);
    false -> ["[", lists:join(",", [j(E) || E <- L]), "]"] end.
s(Str) -> [$", [esc(C) || C <- Str], $"].
esc($") -> "\\\""; esc($\\) -> "\\\\"; esc($\n) -> "\\n"; esc(C) when C < 32 -> io_lib:format("\\u~4.16.0b", [C]); esc(C) -> [C].
`;

/** Consults every file with Erlang in one escript run; results in the order of `files`. */
export async function consultMany(files: readonly string[]): Promise<OracleResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'consult-oracle-'));
  try {
    const script = join(dir, 'consult_batch.escript');
    await writeFile(script, BATCH_ESCRIPT);
    const { stdout } = await run('escript', [script, ...files], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' });
    const byFile = new Map<string, OracleResult>();
    for (const row of stdout.split('\n')) {
      if (row === '') continue;
      const [file = '', kind, a = '', b = ''] = row.split('\t');
      byFile.set(file, kind === 'OK' ? { ok: true, value: parseOracleJson(a) }
        : kind === 'UNPRINTABLE' ? { ok: true, unprintable: true }
          : kind === 'CRASH' ? { ok: false, line: 0, message: `file:consult crashed: ${a}` }
            : { ok: false, line: Number(a), message: b });
    }
    return files.map((f) => {
      const r = byFile.get(f);
      if (!r) throw new Error(`the Erlang oracle printed nothing for ${f}`);
      return r;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs shared/tools/consult2json.escript itself on one file. */
export async function consultShared(file: string): Promise<OracleResult> {
  try {
    const { stdout } = await run('escript', [SHARED_ORACLE, file], { timeout: 30_000, encoding: 'latin1' });
    return { ok: true, value: parseOracleJson(unescapeLatin1Output(stdout.trim())) };
  } catch (e) {
    const err = e as Error & { stderr?: string };
    const m = /^.*?:(\d+): (.*)$/m.exec(err.stderr ?? '');
    if (!m) throw new Error(`consult2json failed without a line: ${err.stderr ?? err.message}`, { cause: e });
    return { ok: false, line: Number(m[1]), message: m[2] ?? '' };
  }
}

/** The shared escript prints on a latin1 device: characters above 255 come out as `\x{HEX}`. */
function unescapeLatin1Output(s: string): string {
  return s.replace(/\\(\\|x\{([0-9A-Fa-f]+)\})/g, (all, what: string, hex: string | undefined) =>
    hex === undefined ? all : String.fromCodePoint(Number.parseInt(hex, 16)));
}

export function parseOracleJson(text: string): OracleValue {
  // Tag every number outside strings before JSON.parse sees it.
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      const m = /^-?[0-9][0-9.eE+-]*/.exec(text.slice(i));
      const num = m?.[0] ?? c;
      out += JSON.stringify({ $num: num });
      i += num.length - 1;
    } else {
      out += c;
    }
  }
  const untag = (v: unknown): OracleValue => {
    if (Array.isArray(v)) return v.map(untag);
    if (typeof v === 'object' && v !== null) {
      const o = v as Record<string, unknown>;
      if (typeof o.$num === 'string') return /[.eE]/.test(o.$num) ? { float: Number(o.$num) } : { int: BigInt(o.$num).toString() };
      if ('tuple' in o) return { tuple: untag(o.tuple) };
      return o as OracleValue;
    }
    return v as OracleValue;
  };
  return untag(JSON.parse(out));
}

/** io_lib:printable_unicode_list/1. */
function printable(codes: readonly number[]): boolean {
  return codes.every((c) => (c >= 32 && c <= 126) || (c >= 0xa0 && c < 0xd800) || (c > 0xdfff && c < 0xfffe)
    || (c > 0xffff && c <= 0x10ffff) || [10, 13, 9, 11, 8, 12, 27].includes(c));
}

/** Our terms in the oracle's shape (the escript's `j/1`). */
export function toOracleValue(t: ErlTerm): OracleValue {
  if (typeof t === 'number' || typeof t === 'bigint') return { int: BigInt(t).toString() };
  if (typeof t === 'string') return listValue(Array.from(t, (c) => c.codePointAt(0) ?? 0));
  if (Array.isArray(t)) return listValue(t as readonly ErlTerm[]);
  const o = t as Exclude<ErlTerm, number | bigint | string | readonly ErlTerm[]>;
  if ('atom' in o) return { atom: o.atom };
  // j/1 prints a tuple's elements as a list, so `{97,98}` comes out as {"tuple":"ab"}.
  if ('tuple' in o) return { tuple: listValue(o.tuple) };
  if ('float' in o) return { float: o.float };
  if ('binary' in o) {
    if (o.bitLength !== undefined) throw new Error('the oracle cannot print bit strings');
    return { binary: new TextDecoder('utf-8', { fatal: true }).decode(o.binary) };
  }
  throw new Error(`the oracle cannot print ${JSON.stringify(o)}`);
}

function listValue(items: readonly ErlTerm[]): OracleValue {
  const codes = items.every((e) => typeof e === 'number') ? (items as readonly number[]) : undefined;
  if (codes && codes.length > 0 && printable(codes)) return String.fromCodePoint(...codes);
  return items.map(toOracleValue);
}
