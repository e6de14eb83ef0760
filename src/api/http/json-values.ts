// A request body as grpc-gateway reads it: json.Decoder.Decode, once for a unary call (anything
// after the first value is ignored), again and again for a streaming call (its requests one after
// another: `{"create_request":{...}}{"progress_request":{}}`, or one per line).

import { GoJsonSyntaxError, nextJsonValue, type GoJsonNode } from './go-json.js';

/** The body's values up to its end or its first unreadable one, and Go's text for that one. */
export interface JsonValues {
  readonly values: GoJsonNode[];
  readonly error: GoJsonSyntaxError | null;
}

/** The values of a streaming call's body. */
export function readJsonValues(body: Buffer): JsonValues {
  const values: GoJsonNode[] = [];
  let from = 0;
  for (;;) {
    let next: ReturnType<typeof nextJsonValue>;
    try {
      next = nextJsonValue(body, from);
    } catch (error) {
      if (error instanceof GoJsonSyntaxError) return { values, error };
      throw error;
    }
    if (next === null) return { values, error: null };
    values.push(next.value);
    from = next.next;
  }
}

/** The first value of a unary call's body; null when the body is empty or only whitespace (io.EOF). */
export function readFirstJsonValue(body: Buffer): GoJsonNode | null {
  return nextJsonValue(body, 0)?.value ?? null;
}
