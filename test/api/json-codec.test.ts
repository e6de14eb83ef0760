// etcd's JSON mapping (src/api/http/json-codec.ts): requests read with jsonpb's rules over Go's
// encoding/json, answers written as jsonpb writes them. The error texts are the ones etcd 3.4.23's
// gateway gives for the same bodies (test/integration/http-compare.test.ts checks them against a
// running etcd); here each rule is pinned on its own.

import { describe, expect, it } from 'vitest';
import { readFirstJsonValue } from '../../src/api/http/json-values.js';
import { etcdTypes, jsonToProtobuf, JsonRequestError, NullListEntryError, protobufToJson, TooDeepRequestError } from '../../src/api/http/json-codec.js';

const type = (name: string) => etcdTypes().lookupType(`etcdserverpb.${name}`);

/** The body as the gateway reads it, decoded back into a plain object (longs as strings, bytes as text). */
function read(typeName: string, body: string): Record<string, unknown> {
  const bytes = jsonToProtobuf(type(typeName), readFirstJsonValue(Buffer.from(body)));
  return type(typeName).toObject(type(typeName).decode(bytes), { longs: String, bytes: String, enums: Number }) as Record<string, unknown>;
}

/** The refusal's text for the body. */
function refusal(typeName: string, body: string): string {
  try {
    read(typeName, body);
  } catch (error) {
    if (error instanceof JsonRequestError) return error.message;
    throw error;
  }
  throw new Error(`accepted: ${body}`);
}

const key = Buffer.from('k').toString('base64');

describe('JSON to protobuf: what is accepted', () => {
  it('takes the declared name and the lowerCamelCase one; the camelCase one wins when both are given', () => {
    expect(read('RangeRequest', `{"key":"${key}","range_end":"AA=="}`)).toMatchObject({ key: 'aw==', range_end: 'AA==' });
    expect(read('RangeRequest', `{"key":"${key}","rangeEnd":"AA=="}`)).toMatchObject({ range_end: 'AA==' });
    expect(read('RangeRequest', `{"key":"${key}","keys_only":false,"keysOnly":true}`)).toMatchObject({ keys_only: true });
    expect(read('RangeRequest', `{"key":"${key}","keysOnly":false,"keys_only":true}`).keys_only).toBeUndefined();
    expect(read('LeaseGrantRequest', '{"TTL":"60","ID":"5"}')).toMatchObject({ TTL: '60', ID: '5' });
  });

  it('takes 64-bit integers as numbers or strings, exactly past 2^53, and leaves null alone', () => {
    expect(read('RangeRequest', `{"key":"${key}","limit":5,"revision":"9007199254740993"}`)).toMatchObject({ limit: '5', revision: '9007199254740993' });
    expect(read('RangeRequest', `{"key":"${key}","limit":"-0","min_mod_revision":"-5"}`)).toEqual({ key: 'aw==', min_mod_revision: '-5' });
    expect(read('RangeRequest', `{"key":"${key}","limit":null,"revision":"null"}`)).toEqual({ key: 'aw==' });
    expect(read('RangeRequest', `{"key":"${key}","limit":" 7 "}`)).toMatchObject({ limit: '7' });
    expect(read('MemberRemoveRequest', '{"ID":"18446744073709551615"}')).toMatchObject({ ID: '18446744073709551615' });
  });

  it('takes enums by name or number, unknown numbers included', () => {
    expect(read('RangeRequest', `{"key":"${key}","sort_order":"DESCEND","sort_target":4}`)).toMatchObject({ sort_order: 2, sort_target: 4 });
    expect(read('RangeRequest', `{"key":"${key}","sort_order":7}`)).toMatchObject({ sort_order: 7 });
    expect(read('WatchRequest', `{"create_request":{"key":"${key}","filters":["NODELETE",0]}}`)).toMatchObject({ create_request: { filters: [1, 0] } });
  });

  it('takes bytes as Go\'s standard base64 (newlines skipped) or as an array of byte numbers', () => {
    expect(read('RangeRequest', '{"key":"Zm9v\\n"}')).toMatchObject({ key: 'Zm9v' });
    expect(read('RangeRequest', '{"key":"Zm8="}')).toMatchObject({ key: 'Zm8=' });
    expect(read('RangeRequest', '{"key":[102,111,111]}')).toMatchObject({ key: 'Zm9v' });
  });

  it('ignores unknown fields, reads a repeated key\'s last value, an empty or null body as an empty message', () => {
    expect(read('RangeRequest', `{"key":"${key}","unknown":{"x":[1]},"KEY":"x"}`)).toMatchObject({ key: 'aw==' });
    expect(read('RangeRequest', '{"key":"YQ==","key":"Yg=="}')).toMatchObject({ key: 'Yg==' });
    expect(read('RangeRequest', '')).toEqual({});
    expect(read('RangeRequest', ' null ')).toEqual({});
    expect(read('RangeRequest', `{"key":"${key}"} anything after the first value`)).toMatchObject({ key: 'aw==' });
  });

  it('reads oneofs and nested messages; a null message is left unset', () => {
    expect(read('TxnRequest', `{"success":[{"request_put":{"key":"${key}"}},{"request_txn":{"failure":[{"request_range":{"key":"${key}"}}]}}]}`)).toMatchObject({
      success: [{ request_put: { key: 'aw==' } }, { request_txn: { failure: [{ request_range: { key: 'aw==' } }] } }],
    });
    expect(read('TxnRequest', '{"success":[{"request_put":null}]}')).toEqual({ success: [{}] });
  });
});

describe('JSON to protobuf: Go\'s texts for what is refused', () => {
  it.each([
    // A value of the wrong kind, by the Go type jsonpb reads it into.
    ['RangeRequest', '[1]', 'json: cannot unmarshal array into Go value of type map[string]json.RawMessage'],
    ['RangeRequest', '"x"', 'json: cannot unmarshal string into Go value of type map[string]json.RawMessage'],
    ['TxnRequest', '{"success":[{"request_range":7}]}', 'json: cannot unmarshal number into Go value of type map[string]json.RawMessage'],
    ['TxnRequest', '{"compare":{}}', 'json: cannot unmarshal object into Go value of type []json.RawMessage'],
    ['RangeRequest', '{"key":"aw==","serializable":"true"}', 'json: cannot unmarshal string into Go value of type bool'],
    ['RangeRequest', '{"key":"aw==","keys_only":1}', 'json: cannot unmarshal number into Go value of type bool'],
    ['MemberAddRequest', '{"peerURLs":[1]}', 'json: cannot unmarshal number into Go value of type string'],
    ['RangeRequest', '{"key":1}', 'json: cannot unmarshal number into Go value of type []uint8'],
    ['RangeRequest', '{"key":{}}', 'json: cannot unmarshal object into Go value of type []uint8'],
    ['RangeRequest', '{"key":[300]}', 'json: cannot unmarshal number 300 into Go value of type uint8'],
    ['RangeRequest', '{"key":["a",1.5]}', 'json: cannot unmarshal string into Go value of type uint8'],
    // 64-bit integers: ParseInt's refusals, and a quoted one unquoted as written, then read as JSON.
    ['RangeRequest', '{"key":"aw==","limit":1.5}', 'json: cannot unmarshal number 1.5 into Go value of type int64'],
    ['RangeRequest', '{"key":"aw==","limit":"1e2"}', 'json: cannot unmarshal number 1e2 into Go value of type int64'],
    ['RangeRequest', '{"key":"aw==","limit":"9223372036854775808"}', 'json: cannot unmarshal number 9223372036854775808 into Go value of type int64'],
    ['MemberRemoveRequest', '{"ID":"-1"}', 'json: cannot unmarshal number -1 into Go value of type uint64'],
    ['RangeRequest', '{"key":"aw==","limit":true}', 'json: cannot unmarshal bool into Go value of type int64'],
    ['RangeRequest', '{"key":"aw==","limit":"true"}', 'json: cannot unmarshal bool into Go value of type int64'],
    ['RangeRequest', '{"key":"aw==","limit":"{}"}', 'json: cannot unmarshal object into Go value of type int64'],
    ['RangeRequest', '{"key":"aw==","limit":[]}', 'json: cannot unmarshal array into Go value of type int64'],
    ['RangeRequest', '{"key":"aw==","limit":"abc"}', "invalid character 'a' looking for beginning of value"],
    ['RangeRequest', '{"key":"aw==","limit":"\\u0031"}', "invalid character '\\\\' looking for beginning of value"],
    ['RangeRequest', '{"key":"aw==","limit":""}', 'unexpected end of JSON input'],
    ['RangeRequest', '{"key":"aw==","limit":"-"}', "invalid character ' ' in numeric literal"],
    ['RangeRequest', '{"key":"aw==","limit":"1."}', "invalid character ' ' after decimal point in numeric literal"],
    ['RangeRequest', '{"key":"aw==","limit":"1e"}', "invalid character ' ' in exponent of numeric literal"],
    ['RangeRequest', '{"key":"aw==","limit":"01"}', "invalid character '1' after top-level value"],
    ['RangeRequest', '{"key":"aw==","limit":"1 2"}', "invalid character '2' after top-level value"],
    ['RangeRequest', '{"key":"aw==","limit":"tr"}', "invalid character ' ' in literal true (expecting 'u')"],
    // Enums: a name looked up as written (Go's %q of the raw text), a number as Go's int32 enum type.
    ['RangeRequest', '{"key":"aw==","sort_order":"BAD"}', 'unknown value "BAD" for enum etcdserverpb.RangeRequest_SortOrder'],
    ['RangeRequest', '{"key":"aw==","sort_order":"B\\u0041D"}', 'unknown value "B\\\\u0041D" for enum etcdserverpb.RangeRequest_SortOrder'],
    ['RangeRequest', '{"key":"aw==","sort_order":"1"}', 'unknown value "1" for enum etcdserverpb.RangeRequest_SortOrder'],
    ['RangeRequest', '{"key":"aw==","sort_order":"constructor"}', 'unknown value "constructor" for enum etcdserverpb.RangeRequest_SortOrder'],
    ['TxnRequest', '{"compare":[{"target":"BAD"}]}', 'unknown value "BAD" for enum etcdserverpb.Compare_CompareTarget'],
    ['RangeRequest', '{"key":"aw==","sort_order":1.5}', 'json: cannot unmarshal number 1.5 into Go value of type etcdserverpb.RangeRequest_SortOrder'],
    ['RangeRequest', '{"key":"aw==","sort_order":99999999999}', 'json: cannot unmarshal number 99999999999 into Go value of type etcdserverpb.RangeRequest_SortOrder'],
    ['RangeRequest', '{"key":"aw==","sort_order":true}', 'json: cannot unmarshal bool into Go value of type etcdserverpb.RangeRequest_SortOrder'],
    ['WatchRequest', '{"create_request":{"filters":"NOPUT"}}', 'invalid target "slice" for enum etcdserverpb.WatchCreateRequest_FilterType'],
    ['WatchRequest', '{"create_request":{"filters":"BAD"}}', 'unknown value "BAD" for enum etcdserverpb.WatchCreateRequest_FilterType'],
    // Bytes: Go's base64.StdEncoding offsets.
    ['RangeRequest', '{"key":"!!"}', 'illegal base64 data at input byte 0'],
    ['RangeRequest', '{"key":"Zm9"}', 'illegal base64 data at input byte 0'],
    ['RangeRequest', '{"key":"Zm9vYg"}', 'illegal base64 data at input byte 4'],
    ['RangeRequest', '{"key":"Zm9v="}', 'illegal base64 data at input byte 4'],
    ['RangeRequest', '{"key":"Zm 9v"}', 'illegal base64 data at input byte 2'],
    ['RangeRequest', '{"key":"-_8="}', 'illegal base64 data at input byte 0'],
    ['RangeRequest', '{"key":"Zg="}', 'illegal base64 data at input byte 3'],
    ['RangeRequest', '{"key":"Zg=x"}', 'illegal base64 data at input byte 2'],
    ['RangeRequest', '{"key":"Zg==Zg=="}', 'illegal base64 data at input byte 4'],
    // The first field in declaration order fails first, whatever the JSON order.
    ['RangeRequest', '{"limit":"x","key":1}', 'json: cannot unmarshal number into Go value of type []uint8'],
    // Oneof members come after every plain field (Compare's range_end is declared after its oneof).
    ['TxnRequest', '{"compare":[{"version":"x","range_end":1}]}', 'json: cannot unmarshal number into Go value of type []uint8'],
  ])('%s %s', (typeName, body, text) => {
    expect(refusal(typeName, body)).toBe(text);
  });

  it('refuses a null inside a list of messages as etcd\'s gateway fails on it (no answer)', () => {
    expect(() => read('TxnRequest', '{"compare":[null]}')).toThrow(NullListEntryError);
  });
});

describe('protobuf to JSON', () => {
  it('writes declared names, 64-bit integers as strings, bytes as base64, enums by name, and leaves zero values out', () => {
    const response = type('RangeResponse');
    const bytes = response.encode(response.fromObject({
      header: { cluster_id: '18446744073709551615', revision: 7 },
      kvs: [{ key: Buffer.from('k'), create_revision: 2, mod_revision: 0, version: 1, value: Buffer.alloc(0), lease: '-1' }],
      more: false,
      count: 1,
    })).finish();
    expect(protobufToJson(response, bytes)).toEqual({
      header: { cluster_id: '18446744073709551615', revision: '7' },
      kvs: [{ key: 'aw==', create_revision: '2', version: '1', lease: '-1' }],
      count: '1',
    });
    const watch = type('WatchResponse');
    const event = watch.encode(watch.fromObject({ header: {}, watch_id: -1, events: [{ type: 1, kv: { key: Buffer.from('k') } }, { type: 0, kv: {} }] })).finish();
    expect(protobufToJson(watch, event)).toEqual({ header: {}, watch_id: '-1', events: [{ type: 'DELETE', kv: { key: 'aw==' } }, { kv: {} }] });
    const lease = type('LeaseGrantResponse');
    expect(protobufToJson(lease, lease.encode(lease.fromObject({ ID: 5, TTL: 60 })).finish())).toEqual({ ID: '5', TTL: '60' });
  });
});

describe('a Txn nested deeper than the server takes', () => {
  // etcd 3.4.23 reads a Txn 200 or 3,000 levels deep and refuses it for its operation count; here
  // protobufjs would have recursed past its bound (or the call stack) first.
  it.each([200, 3000])('is refused with etcd\'s "too many operations" at %i levels, before protobufjs sees it', (depth) => {
    const inner = JSON.stringify({ success: [{ request_put: { key: 'YQ==', value: 'YQ==' } }] });
    const body = '{"success":[{"request_txn":'.repeat(depth) + inner + '}]}'.repeat(depth);
    expect(() => read('TxnRequest', body)).toThrow(TooDeepRequestError);
    expect(() => read('TxnRequest', body)).toThrow('etcdserver: too many operations in txn request');
  });
});
