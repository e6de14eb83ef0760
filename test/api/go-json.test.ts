// Go's encoding/json texts for JSON it cannot read (src/api/http/go-json.ts), as etcd 3.4.23's
// gateway gives them for a request body (json.Decoder) and for a quoted integer's inside
// (json.Unmarshal); test/integration/http-compare.test.ts checks bodies against a running etcd.

import { describe, expect, it } from 'vitest';
import { goJsonSyntaxErrorOf, goQuoteByte, goQuoteString, nextJsonValue, rawBytes } from '../../src/api/http/go-json.js';
import { readJsonValues } from '../../src/api/http/json-values.js';

/** The decoder's text for a body, or null when it reads a value. */
function decoderError(body: string): string | null {
  try {
    nextJsonValue(Buffer.from(body));
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

describe('json.Decoder on a body', () => {
  it.each([
    ['{', 'unexpected EOF'],
    ['{"key":', 'unexpected EOF'],
    ['{"key":1.', 'unexpected EOF'],
    ['{"key":"abc', 'unexpected EOF'],
    ['[1', 'unexpected EOF'],
    ['{"key":"a",}', "invalid character '}' looking for beginning of object key string"],
    ['{1:2}', "invalid character '1' looking for beginning of object key string"],
    ['{"key" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b":2}', "invalid character '\"' after object key:value pair"],
    ['[1 2]', "invalid character '2' after array element"],
    ['}', "invalid character '}' looking for beginning of value"],
    ['{"a":tru}', "invalid character '}' in literal true (expecting 'e')"],
    ['{"a":nul}', "invalid character '}' in literal null (expecting 'l')"],
    ['{"a":fx}', "invalid character 'x' in literal false (expecting 'a')"],
    ['{"a":"\\x"}', "invalid character 'x' in string escape code"],
    ['{"a":"\\u12x4"}', "invalid character 'x' in \\u hexadecimal character escape"],
    ['{"a":"a\nb"}', "invalid character '\\n' in string literal"],
    ['{"a":-x}', "invalid character 'x' in numeric literal"],
    ['{"a":1.x}', "invalid character 'x' after decimal point in numeric literal"],
    ['{"a":1e+}', "invalid character '}' in exponent of numeric literal"],
    ['{"a":01}', "invalid character '1' after object key:value pair"],
    ["{'a':1}", "invalid character '\\'' looking for beginning of object key string"],
    ['{"a":\u00e9}', "invalid character 'Ã' looking for beginning of value"],
  ])('%j: %s', (body, text) => {
    expect(decoderError(body)).toBe(text);
  });

  it('reads the first value and leaves the rest; only whitespace is no value at all', () => {
    const read = nextJsonValue(Buffer.from(' {"a":[1,{"b":null}]} trailing'));
    expect(read === null ? null : rawBytes(read.value).toString()).toBe('{"a":[1,{"b":null}]}');
    expect(read?.value.members?.[0]?.[0]).toBe('a');
    expect(nextJsonValue(Buffer.from(' \n\t'))).toBeNull();
    expect(nextJsonValue(Buffer.from('12'))?.value.kind).toBe('number');
  });

  it('splits a stream body into its values, stopping at the first unreadable one', () => {
    const { values, error } = readJsonValues(Buffer.from('{"a":1}\n{"b":2} {"c":3}x{"d":4}'));
    expect(values.map((value) => rawBytes(value).toString())).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
    expect(error?.message).toBe("invalid character 'x' looking for beginning of value");
    expect(readJsonValues(Buffer.from('')).values).toEqual([]);
  });
});

describe('json.Unmarshal on a whole text', () => {
  it.each([
    ['', 'unexpected end of JSON input'],
    ['"abc', 'unexpected end of JSON input'],
    ['-', "invalid character ' ' in numeric literal"],
    ['1.', "invalid character ' ' after decimal point in numeric literal"],
    ['1e', "invalid character ' ' in exponent of numeric literal"],
    ['nu', "invalid character ' ' in literal null (expecting 'l')"],
    ['"\\', "invalid character ' ' in string escape code"],
    ['01', "invalid character '1' after top-level value"],
    ['1 2', "invalid character '2' after top-level value"],
    ['\\u0031', "invalid character '\\\\' looking for beginning of value"],
  ])('%j: %s', (text, message) => {
    expect(goJsonSyntaxErrorOf(Buffer.from(text))).toBe(message);
  });

  it('takes one value with whitespace around it', () => {
    expect(goJsonSyntaxErrorOf(Buffer.from(' 1 '))).toBeNull();
    expect(goJsonSyntaxErrorOf(Buffer.from('null'))).toBeNull();
  });
});

describe('Go quoting', () => {
  it('quotes a byte as its scanner errors do, and a text as %q does', () => {
    expect([0x27, 0x22, 0x5c, 0x0a, 0x01, 0x7f, 0x41, 0xc3, 0xa0].map(goQuoteByte)).toEqual(["'\\''", "'\"'", "'\\\\'", "'\\n'", "'\\x01'", "'\\x7f'", "'A'", "'Ã'", "'\\u00a0'"]);
    expect(goQuoteString('B\\u0041D\n\té"')).toBe('"B\\\\u0041D\\n\\té\\""');
  });
});

describe('nesting as deep as Go takes it', () => {
  // Values as deep as these overflowed Node's call stack in a recursive reader: the member answered
  // 500 "Maximum call stack size exceeded" where etcd 3.4.23 reads them or says this.
  it('reads 10,000 levels, and refuses the bracket that opens level 10,001 as encoding/json does', () => {
    const nested = (depth: number): string => `{"a":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
    expect(decoderError(nested(10_000))).toBeNull();
    expect(decoderError(nested(10_001))).toBe("invalid character '[' exceeded max depth");
    expect(decoderError(`${'{"a":'.repeat(10_000)}{}${'}'.repeat(10_000)}`)).toBe("invalid character '{' exceeded max depth");
    expect(decoderError('['.repeat(200_000))).toBe("invalid character '[' exceeded max depth");
  });
});
