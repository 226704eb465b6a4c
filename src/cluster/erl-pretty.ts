// Erlang's `~p` layout (io_lib_pretty) for the terms our CLI prints: atoms, lists and maps. EMQX
// prints `Cluster status: ~p`, which breaks lines past 80 columns in a layout scripts see, so we
// lay out the same way: one line when the term fits, else the same breaks and indents. The
// functions follow io_lib_pretty's pp/pp_list/pp_tail/pp_map/pp_pair clause by clause (columns
// 1-based, `ld` the closing brackets that follow, `w` the width used on the line, `m` the
// term's one-line length), so that the differential test against Erlang can pin them. Pure.

export type ErlTerm =
  /** Written as it is: an atom already quoted (erlAtom), a number. */
  | { readonly text: string }
  | { readonly list: readonly ErlTerm[] }
  /** Pairs in the order Erlang prints them (atom keys: sorted). */
  | { readonly map: ReadonlyArray<readonly [ErlTerm, ErlTerm]> };

/** A term with its one-line length; `flat` when Erlang treats it as atomic (no inner breaks). */
type Sized =
  | { readonly flat: string; readonly len: number }
  | { readonly list: readonly Sized[]; readonly len: number }
  | { readonly map: readonly SizedPair[]; readonly len: number };

interface SizedPair {
  readonly key: Sized;
  readonly value: Sized;
  readonly len: number;
}

const MAP_VALUE_INDENT = 4;

function size(t: ErlTerm): Sized {
  if ('text' in t) return { flat: t.text, len: t.text.length };
  if ('list' in t) {
    if (t.list.length === 0) return { flat: '[]', len: 2 };
    const items = t.list.map(size);
    return { list: items, len: 2 + items.reduce((n, i) => n + i.len, 0) + items.length - 1 };
  }
  if (t.map.length === 0) return { flat: '#{}', len: 3 };
  const pairs = t.map.map(([k, v]): SizedPair => {
    const key = size(k);
    const value = size(v);
    return { key, value, len: key.len + 4 + value.len };
  });
  return { map: pairs, len: 3 + pairs.reduce((n, p) => n + p.len, 0) + pairs.length - 1 };
}

const atomic = (s: Sized): boolean => 'flat' in s;
const atomicPair = (p: SizedPair): boolean => atomic(p.key) && atomic(p.value);

function write(s: Sized): string {
  if ('flat' in s) return s.flat;
  if ('list' in s) return `[${s.list.map(write).join(',')}]`;
  return `#{${s.map.map(writePair).join(',')}}`;
}

function writePair(p: SizedPair): string {
  return `${write(p.key)} => ${write(p.value)}`;
}

/** io_lib_pretty's last_depth: one more closing bracket after the last element. */
const lastDepth = (rest: number, ld: number): number => (rest > 0 ? 0 : ld + 1);

interface Layout {
  readonly ll: number;
  readonly m: number;
}

function pp(s: Sized, col: number, o: Layout, ind: string, ld: number, w: number): string {
  if (s.len < o.ll - col - ld && s.len + w + ld <= o.m) return write(s);
  if ('list' in s) return `[${ppElements(s.list, LIST_ITEM, col + 1, o, `${ind} `, ld, w + 1)}]`;
  if ('map' in s) return `#{${ppElements(s.map, MAP_PAIR, col + 2, o, `${ind}  `, ld, w + 1)}}`;
  return s.flat;
}

/** Whether the next element still fits on this line after a comma. */
function fitsAfterComma(len: number, atom: boolean, col: number, o: Layout, ld1: number, w: number): boolean {
  const eLen = 1 + len;
  if (!atom) return false;
  return ld1 === 0 ? eLen + 1 < o.ll - col && w + eLen + 1 <= o.m : eLen < o.ll - col - ld1 && w + eLen + ld1 <= o.m;
}

/** How one kind of element (list item, map pair) is measured, written and laid out. */
interface ElementKind<E> {
  len(e: E): number;
  atomic(e: E): boolean;
  write(e: E): string;
  /** Laid out from `col`; a width of the line length forces the next one onto a new line. */
  lay(e: E, col: number, o: Layout, ind: string, ld: number, w: number): { text: string; width: number };
  /** The width used after the first element: a list counts its bracket, a map does not. */
  widthAfterFirst(w0: number, firstWidth: number): number;
}

/** io_lib_pretty's pp_list + pp_tail and pp_map + pp_pairs_tail: the same walk for both. */
function ppElements<E>(items: readonly E[], k: ElementKind<E>, col0: number, o: Layout, ind: string, ld: number, w0: number): string {
  const first = k.lay(items[0]!, col0, o, ind, lastDepth(items.length - 1, ld), w0);
  let out = first.text;
  let col = col0 + first.width;
  let w = k.widthAfterFirst(w0, first.width);
  for (let i = 1; i < items.length; i++) {
    const e = items[i]!;
    const ld1 = lastDepth(items.length - 1 - i, ld);
    if (fitsAfterComma(k.len(e), k.atomic(e), col, o, ld1, w)) {
      out += `,${k.write(e)}`;
      col += 1 + k.len(e);
      w += 1 + k.len(e);
    } else {
      const el = k.lay(e, col0, o, ind, ld1, 0);
      out += `,\n${ind}${el.text}`;
      col = col0 + el.width;
      w = el.width;
    }
  }
  return out;
}

const LIST_ITEM: ElementKind<Sized> = {
  len: (e) => e.len,
  atomic,
  write,
  lay: (e, col, o, ind, ld, w) =>
    e.len < o.ll - col - ld && e.len + w + ld <= o.m && atomic(e) ? { text: write(e), width: e.len } : { text: pp(e, col, o, ind, ld, w), width: o.ll },
  widthAfterFirst: (w0, firstWidth) => w0 + firstWidth,
};

const MAP_PAIR: ElementKind<SizedPair> = {
  len: (p) => p.len,
  atomic: atomicPair,
  write: writePair,
  lay: ppPair,
  widthAfterFirst: (_w0, firstWidth) => firstWidth,
};

function ppPair(p: SizedPair, col: number, o: Layout, ind: string, ld: number, w: number): { text: string; width: number } {
  if (p.len < o.ll - col - ld && p.len + w + ld <= o.m) return { text: writePair(p), width: atomicPair(p) ? p.len : o.ll };
  const valueInd = `${ind}${' '.repeat(MAP_VALUE_INDENT)}`;
  return { text: `${pp(p.key, col, o, ind, ld, w)} =>\n${valueInd}${pp(p.value, col + MAP_VALUE_INDENT, o, valueInd, ld, 0)}`, width: o.ll };
}

/**
 * `io_lib:format("~p", [Term])` printed from column `col` (1-based: the characters before it on
 * the line, plus one), with Erlang's default line length of 80.
 */
export function erlPretty(term: ErlTerm, col = 1, lineLength = 80): string {
  const s = size(term);
  if (s.len < lineLength - col) return write(s);
  return pp(s, col, { ll: lineLength, m: s.len }, ' '.repeat(col - 1), 0, 0);
}
