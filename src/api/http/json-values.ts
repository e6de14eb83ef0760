// A streaming call's body holds its requests as JSON values one after another (grpc-gateway reads
// them with a streaming decoder): `{"create_request":{...}}{"progress_request":{}}`, or one per line.

import { JsonRequestError } from './json-codec.js';

/** The texts of the top-level JSON values in `body`, in order; an empty body is one empty request. */
export function splitJsonValues(body: string): string[] {
  const values: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < body.length; i += 1) {
    const c = body[i]!;
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
      continue;
    }
    if (start === -1) {
      if (c === ' ' || c === '\n' || c === '\r' || c === '\t') continue;
      start = i;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth += 1;
    else if (c === '}' || c === ']') depth -= 1;
    if (depth < 0) throw new JsonRequestError(`invalid character '${c}' looking for beginning of value`);
    // A value ends when its brackets close, or (a bare scalar) at the next whitespace or bracket.
    const next = body[i + 1];
    const scalarEnds = depth === 0 && (next === undefined || /[\s{["]/.test(next));
    if (depth === 0 && (c === '}' || c === ']' || (c !== '"' && scalarEnds) || (c === '"' && !inString && i > start))) {
      values.push(body.slice(start, i + 1));
      start = -1;
    }
  }
  if (start !== -1) values.push(body.slice(start));
  return values.length === 0 ? [''] : values;
}
