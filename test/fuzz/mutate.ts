// Seeded input mutation for the fuzz tests: small, structure-aware edits of real documents.
export { prng } from '../helpers/prng.js';

const HOCON_TOKENS = ['{', '}', '[', ']', '"', '"""', '${', '${?', '}', ':', '=', '+=', ',', '#', '//', '\n', '.', '\\', '@', ' ', 'include ', 'required(', 'file(', '\t', '\u0000', 'é', '\uffff', '0x', '1e999', '-', 'true', 'null'];

export function mutateText(input: string, rnd: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const pos = () => Math.floor(rnd() * (input.length + 1));
  let s = input;
  const edits = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < edits; i++) {
    const p = Math.min(pos(), s.length);
    switch (Math.floor(rnd() * 7)) {
      case 0: // delete a short span
        s = s.slice(0, p) + s.slice(p + 1 + Math.floor(rnd() * 8));
        break;
      case 1: // insert a token that means something to the grammar
        s = s.slice(0, p) + pick(HOCON_TOKENS) + s.slice(p);
        break;
      case 2: { // duplicate a line
        const lines = s.split('\n');
        const l = Math.floor(rnd() * lines.length);
        lines.splice(l, 0, lines[l] ?? '');
        s = lines.join('\n');
        break;
      }
      case 3: // truncate
        s = s.slice(0, p);
        break;
      case 4: // replace one char with a random byte-ish char
        s = s.slice(0, p) + String.fromCharCode(Math.floor(rnd() * 256)) + s.slice(p + 1);
        break;
      case 5: { // swap two lines
        const lines = s.split('\n');
        const a = Math.floor(rnd() * lines.length);
        const b = Math.floor(rnd() * lines.length);
        [lines[a], lines[b]] = [lines[b] ?? '', lines[a] ?? ''];
        s = lines.join('\n');
        break;
      }
      default: // splice a span of the document somewhere else
      {
        const q = Math.min(pos(), s.length);
        const [from, to] = p < q ? [p, q] : [q, p];
        const span = s.slice(from, Math.min(to, from + 40));
        const at = Math.min(pos(), s.length);
        s = s.slice(0, at) + span + s.slice(at);
      }
    }
  }
  return s;
}
