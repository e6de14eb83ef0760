// Bytes fields in etcd's JSON are read by Go's encoding/json, which decodes them with
// base64.StdEncoding: standard alphabet, padding required, '\r' and '\n' skipped anywhere, and a
// failure reported as "illegal base64 data at input byte N" with Go's N (the start of a short last
// group, the first bad character, a misplaced '=').

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const VALUE_OF = new Map([...ALPHABET].map((character, value) => [character.charCodeAt(0), value]));
const PAD = 0x3d;
const NEWLINE = 0x0a;
const RETURN = 0x0d;

export class GoBase64Error extends Error {
  constructor(readonly offset: number) {
    super(`illegal base64 data at input byte ${offset}`);
    this.name = new.target.name;
  }
}

/** `src` decoded as Go's base64.StdEncoding.Decode does, or its error. */
export function goBase64Decode(src: Buffer): Buffer {
  const out: number[] = [];
  let si = 0;
  for (;;) {
    const quantum: number[] = [];
    let padded = false;
    let j = 0;
    for (; j < 4; j += 1) {
      if (si === src.length) {
        if (j === 0) return Buffer.from(out);
        // A last group of 1, 2 or 3 characters without its padding.
        throw new GoBase64Error(si - j);
      }
      const c = src[si]!;
      si += 1;
      const value = VALUE_OF.get(c);
      if (value !== undefined) {
        quantum.push(value);
        continue;
      }
      if (c === NEWLINE || c === RETURN) {
        j -= 1;
        continue;
      }
      if (c !== PAD) throw new GoBase64Error(si - 1);
      // Padding: allowed only as the third and fourth, or the fourth, character of the last group.
      if (j === 0 || j === 1) throw new GoBase64Error(si - 1);
      if (j === 2) {
        while (si < src.length && (src[si] === NEWLINE || src[si] === RETURN)) si += 1;
        if (si === src.length) throw new GoBase64Error(src.length);
        if (src[si] !== PAD) throw new GoBase64Error(si - 1);
        si += 1;
      }
      while (si < src.length && (src[si] === NEWLINE || src[si] === RETURN)) si += 1;
      if (si < src.length) throw new GoBase64Error(si);
      padded = true;
      break;
    }
    const [a = 0, b = 0, c = 0, d = 0] = quantum;
    const bits = (a << 18) | (b << 12) | (c << 6) | d;
    const bytes = [(bits >> 16) & 0xff, (bits >> 8) & 0xff, bits & 0xff];
    out.push(...bytes.slice(0, padded ? j - 1 : 3));
    if (padded) return Buffer.from(out);
  }
}
