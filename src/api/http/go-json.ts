// JSON read the way Go's encoding/json reads it, for etcd's gateway (grpc-gateway v1 over jsonpb):
// the same first error with the same text ("invalid character '}' looking for beginning of object
// key string", "unexpected EOF", ...), and every value kept as its raw bytes, because jsonpb works
// on raw values (a quoted integer is unquoted without unescaping, an enum name is looked up as
// written). Works on bytes, as Go does, so error offsets and quoted characters match.
//
// Two entry points, for Go's two readers:
// - nextJsonValue: json.Decoder.Decode, how grpc-gateway reads a request body (one value; the rest
//   of the body is left for the next call; a value cut short is "unexpected EOF");
// - parseJsonValue: json.Unmarshal, how jsonpb reads a field's value (the whole text must be one
//   value; a value cut short is "unexpected end of JSON input").

/** Go's text for JSON it cannot read. */
export class GoJsonSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export type GoJsonKind = 'object' | 'array' | 'string' | 'number' | 'true' | 'false' | 'null';

/** One JSON value: its kind, where its bytes are, and (objects, arrays) what it holds. */
export interface GoJsonNode {
  readonly kind: GoJsonKind;
  readonly bytes: Buffer;
  readonly start: number;
  readonly end: number;
  /** Object members in order, keys unescaped (a repeated key appears twice). */
  readonly members?: ReadonlyArray<readonly [string, GoJsonNode]>;
  readonly items?: readonly GoJsonNode[];
}

/** The node's own bytes. */
export function rawBytes(node: GoJsonNode): Buffer {
  return node.bytes.subarray(node.start, node.end);
}

/** A string node's text, unescaped. */
export function stringValue(node: GoJsonNode): string {
  return JSON.parse(rawBytes(node).toString('utf8')) as string;
}

/** The word Go's "cannot unmarshal X into" uses for a JSON value's kind. */
export function goKindWord(kind: GoJsonKind): string {
  return kind === 'true' || kind === 'false' ? 'bool' : kind;
}

/** Thrown inside the parser when the input ends; each entry point turns it into its own text. */
class EndOfInput extends Error {}

/** Go's error for the space its scanner is fed at the end of the input (json.Decoder says "unexpected EOF" instead). */
class SpaceAtEnd extends GoJsonSyntaxError {}

/** The byte Go's scanner gets at the end of the input (scanner.eof feeds it a space). */
const SPACE = 0x20;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** encoding/json's bound on nesting (maxNestingDepth): deeper is a syntax error in Go. */
export const JSON_NESTING_MAX = 10_000;

/** An object or array whose closing bracket is still to come. */
type OpenContainer =
  | { readonly kind: 'object'; readonly start: number; readonly members: Array<readonly [string, GoJsonNode]>; key: string }
  | { readonly kind: 'array'; readonly start: number; readonly items: GoJsonNode[] };

class Parser {
  private depth = 0;

  constructor(
    readonly bytes: Buffer,
    public at: number,
  ) {}

  /** The byte at `at`, or -1 at the end. */
  peek(): number {
    return this.at < this.bytes.length ? this.bytes[this.at]! : -1;
  }

  skipSpace(): void {
    while (this.at < this.bytes.length && isSpace(this.bytes[this.at]!)) this.at += 1;
  }

  /** Go's error for byte `c` in `context`; at the end of input, what its scanner says of a space there. */
  fail(c: number, context: string, spaceAllowed: boolean): never {
    if (c === -1) {
      if (spaceAllowed) throw new EndOfInput();
      throw new SpaceAtEnd(`invalid character ${goQuoteByte(SPACE)} ${context}`);
    }
    throw new GoJsonSyntaxError(`invalid character ${goQuoteByte(c)} ${context}`);
  }

  /**
   * One value. Objects and arrays are read with a stack of their own rather than by recursion:
   * Go takes 10,000 levels, more than Node's call stack holds.
   */
  value(): GoJsonNode {
    const open: OpenContainer[] = [];
    for (;;) {
      let node = this.valueStart(open);
      if (node === null) continue;
      // Hand the finished value to the containers it closes, innermost first.
      for (;;) {
        const top = open.at(-1);
        if (top === undefined) return node;
        if (top.kind === 'object') top.members.push([top.key, node]);
        else top.items.push(node);
        this.skipSpace();
        const c = this.peek();
        this.at += 1;
        if (c === 0x2c) {
          if (top.kind === 'object') top.key = this.objectKey();
          break;
        }
        if (c === (top.kind === 'object' ? 0x7d : 0x5d)) {
          open.pop();
          this.depth -= 1;
          node = top.kind === 'object' ? this.node('object', top.start, { members: top.members }) : this.node('array', top.start, { items: top.items });
          continue;
        }
        this.at -= 1;
        this.fail(c, top.kind === 'object' ? 'after object key:value pair' : 'after array element', true);
      }
    }
  }

  /** A scalar or an empty container, or null after opening a container (pushed on `open`). */
  private valueStart(open: OpenContainer[]): GoJsonNode | null {
    this.skipSpace();
    const start = this.at;
    const c = this.peek();
    if (c === 0x7b || c === 0x5b) {
      const object = c === 0x7b;
      this.enter();
      this.skipSpace();
      if (this.peek() === (object ? 0x7d : 0x5d)) {
        this.at += 1;
        this.depth -= 1;
        return object ? this.node('object', start, { members: [] }) : this.node('array', start, { items: [] });
      }
      open.push(object ? { kind: 'object', start, members: [], key: this.objectKey() } : { kind: 'array', start, items: [] });
      return null;
    }
    if (c === 0x22) {
      this.string();
      return this.node('string', start);
    }
    if (c === 0x2d || isDigit(c)) {
      this.number();
      return this.node('number', start);
    }
    if (c === 0x74) return this.literal('true', start);
    if (c === 0x66) return this.literal('false', start);
    if (c === 0x6e) return this.literal('null', start);
    return this.fail(c, 'looking for beginning of value', true);
  }

  private node(kind: GoJsonKind, start: number, more: Partial<GoJsonNode> = {}): GoJsonNode {
    return { kind, bytes: this.bytes, start, end: this.at, ...more };
  }

  /** Go's scanner refuses the bracket that opens one level too many. */
  private enter(): void {
    this.depth += 1;
    if (this.depth > JSON_NESTING_MAX) this.fail(this.peek(), 'exceeded max depth', false);
    this.at += 1;
  }

  /** An object member's key and its colon. */
  private objectKey(): string {
    this.skipSpace();
    const keyStart = this.at;
    if (this.peek() !== 0x22) this.fail(this.peek(), 'looking for beginning of object key string', true);
    this.string();
    const key = JSON.parse(this.bytes.toString('utf8', keyStart, this.at)) as string;
    this.skipSpace();
    if (this.peek() !== 0x3a) this.fail(this.peek(), 'after object key', true);
    this.at += 1;
    return key;
  }

  private string(): void {
    this.at += 1;
    for (;;) {
      const c = this.peek();
      if (c === -1) throw new EndOfInput();
      this.at += 1;
      if (c === 0x22) return;
      if (c < 0x20) this.fail(c, 'in string literal', true);
      if (c !== 0x5c) continue;
      const escape = this.peek();
      if (escape === 0x75) {
        this.at += 1;
        for (let i = 0; i < 4; i += 1) {
          if (!isHex(this.peek())) this.fail(this.peek(), 'in \\u hexadecimal character escape', false);
          this.at += 1;
        }
      } else if ([0x62, 0x66, 0x6e, 0x72, 0x74, 0x5c, 0x2f, 0x22].includes(escape)) {
        this.at += 1;
      } else {
        this.fail(escape, 'in string escape code', false);
      }
    }
  }

  private number(): void {
    if (this.peek() === 0x2d) {
      this.at += 1;
      if (!isDigit(this.peek())) this.fail(this.peek(), 'in numeric literal', false);
    }
    if (this.peek() === 0x30) this.at += 1;
    else while (isDigit(this.peek())) this.at += 1;
    if (this.peek() === 0x2e) {
      this.at += 1;
      if (!isDigit(this.peek())) this.fail(this.peek(), 'after decimal point in numeric literal', false);
      while (isDigit(this.peek())) this.at += 1;
    }
    if (this.peek() === 0x65 || this.peek() === 0x45) {
      this.at += 1;
      if (this.peek() === 0x2b || this.peek() === 0x2d) this.at += 1;
      if (!isDigit(this.peek())) this.fail(this.peek(), 'in exponent of numeric literal', false);
      while (isDigit(this.peek())) this.at += 1;
    }
  }

  private literal(word: 'true' | 'false' | 'null', start: number): GoJsonNode {
    this.at += 1;
    for (let i = 1; i < word.length; i += 1) {
      const expected = word.charCodeAt(i);
      if (this.peek() !== expected) this.fail(this.peek(), `in literal ${word} (expecting ${goQuoteByte(expected)})`, false);
      this.at += 1;
    }
    return this.node(word, start);
  }
}

/**
 * The next value of a body read as json.Decoder.Decode reads it, from byte `from`: null when only
 * whitespace is left (io.EOF), else the value and where the next one starts. A value cut short is
 * "unexpected EOF"; whatever follows a complete value is left for the next call.
 */
export function nextJsonValue(bytes: Buffer, from = 0): { value: GoJsonNode; next: number } | null {
  const parser = new Parser(bytes, from);
  parser.skipSpace();
  if (parser.peek() === -1) return null;
  try {
    const value = parser.value();
    return { value, next: parser.at };
  } catch (error) {
    // The decoder reports any value the input ends inside as io.ErrUnexpectedEOF.
    if (error instanceof EndOfInput || error instanceof SpaceAtEnd) throw new GoJsonSyntaxError('unexpected EOF');
    throw error;
  }
}

/** `bytes` read as json.Unmarshal reads it: exactly one value, whitespace around it allowed. */
export function parseJsonValue(bytes: Buffer): GoJsonNode {
  const parser = new Parser(bytes, 0);
  try {
    const value = parser.value();
    parser.skipSpace();
    if (parser.peek() !== -1) parser.fail(parser.peek(), 'after top-level value', true);
    return value;
  } catch (error) {
    if (error instanceof EndOfInput) throw new GoJsonSyntaxError('unexpected end of JSON input');
    if (error instanceof SpaceAtEnd) throw new GoJsonSyntaxError(error.message);
    throw error;
  }
}

/** Go's quoteChar: a byte as its scanner's errors show it ('x', '\n', '\\', '\x01'). */
export function goQuoteByte(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return "'\"'";
  // Go converts the byte to the rune of the same number, then quotes that rune.
  const quoted = goQuoteString(String.fromCharCode(c));
  return `'${quoted.slice(1, -1)}'`;
}

const GO_ESCAPES: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '\\': '\\\\', '"': '\\"' };

/**
 * Go's strconv.Quote (fmt's %q) of a text: printable characters as they are, the usual escapes,
 * other control and invisible characters as \xNN, \uNNNN or \UNNNNNNNN.
 */
export function goQuoteString(text: string): string {
  let out = '"';
  for (const character of text) {
    const escape = GO_ESCAPES[character];
    if (escape !== undefined) {
      out += escape;
      continue;
    }
    const code = character.codePointAt(0)!;
    if (isGoPrintable(character)) out += character;
    else if (code < 0x80) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
function isGoPrintable(character: string): boolean {
  return character === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(character);
}

/** Go's text for bytes that are not one JSON value (json.Unmarshal's), or null when they are one. */
export function goJsonSyntaxErrorOf(bytes: Buffer): string | null {
  try {
    parseJsonValue(bytes);
    return null;
  } catch (error) {
    if (error instanceof GoJsonSyntaxError) return error.message;
    throw error;
  }
}
