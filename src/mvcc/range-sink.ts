// A range's answer handed over one kv at a time, each value read from disk just before it is
// handed over and dropped right after: whoever encodes the answer (the API's RangeResponse
// encoder) copies it into the response, so a large answer is held once, as its encoding, and
// never also as KeyValue objects holding every value.

export interface RangeSink {
  /**
   * Called once, before the first add(), with the number of kvs that follow and the bytes their
   * keys and values take (exactly: the index knows every value's length), to size a buffer.
   */
  reserve(kvCount: number, keyAndValueBytes: number): void;
  /**
   * One kv, in the answer's order. `keyLatin1` is the key as a latin1 string (one char per byte,
   * as the index keys it). `value` is only valid during the call.
   */
  add(keyLatin1: string, createRevision: number, modRevision: number, version: number, lease: bigint, value: Uint8Array): void;
}
