// For well-formed requests the strict decoder changes nothing: on many random valid messages of
// every client request type, its output deep-equals proto-loader's, lease IDs aside (exact bigints
// there, numbers in proto-loader's). A failure prints the seed; SEED=<n> replays it.

import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { services } from '../../src/api/protos.js';
import { strictDeserializer } from '../../src/api/wire/strict-services.js';
import { loadEtcdRoot } from '../../src/api/wire/schema.js';
import { Random } from '../fault/random.js';

const MESSAGES_PER_METHOD = 300;
const NESTING_MAX = 4;

function randomValues(random: () => number): {
  int64(unsigned: boolean): string;
  bytes(): Buffer;
  text(): string;
} {
  const int = (max: number): number => Math.floor(random() * max);
  const edges64 = [0n, 1n, -1n, 2n ** 31n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n];
  return {
    int64(unsigned) {
      let value: bigint;
      const pick = int(3);
      if (pick === 0) value = edges64[int(edges64.length)];
      else if (pick === 1) value = BigInt(int(1000));
      else value = (BigInt(int(2 ** 32)) << 32n) | BigInt(int(2 ** 32));
      return String(unsigned ? BigInt.asUintN(64, value) : BigInt.asIntN(64, value));
    },
    bytes: () => Buffer.from(Array.from({ length: int(40) }, () => int(256))),
    text: () => Array.from({ length: int(12) }, () => ['a', 'Z', '/', ':', 'é', '漢', '😀'][int(7)]).join(''),
  };
}

function randomMessage(type: protobuf.Type, random: () => number, depth: number): Record<string, unknown> {
  const values = randomValues(random);
  const message: Record<string, unknown> = {};
  const chosenOneofMember = new Map<string, string>();
  for (const oneof of type.oneofsArray) {
    if (random() < 0.6) chosenOneofMember.set(oneof.name, oneof.fieldsArray[Math.floor(random() * oneof.fieldsArray.length)].name);
  }
  for (const field of type.fieldsArray) {
    field.resolve();
    if (field.partOf !== null) {
      if (chosenOneofMember.get(field.partOf.name) !== field.name) continue;
    } else if (random() < 0.4) continue;
    const one = (): unknown => {
      if (field.resolvedType instanceof protobuf.Type) return depth >= NESTING_MAX ? {} : randomMessage(field.resolvedType, random, depth + 1);
      if (field.resolvedType instanceof protobuf.Enum) {
        const ids = Object.values(field.resolvedType.values);
        return ids[Math.floor(random() * ids.length)];
      }
      switch (field.type) {
        case 'int64':
          return values.int64(false);
        case 'uint64':
          return values.int64(true);
        case 'int32':
          return Math.floor(random() * 2 ** 32) - 2 ** 31;
        case 'uint32':
          return Math.floor(random() * 2 ** 32);
        case 'bool':
          return random() < 0.5;
        case 'bytes':
          return values.bytes();
        case 'string':
          return values.text();
        default:
          throw new Error(`no generator for ${field.type}`);
      }
    };
    message[field.name] = field.repeated ? Array.from({ length: Math.floor(random() * 4) }, one) : one();
  }
  return message;
}

/** The strict decoder's output with its bigint lease IDs as proto-loader's numbers. */
function leaseIdsAsNumbers(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(leaseIdsAsNumbers);
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, leaseIdsAsNumbers(inner)]));
  }
  return value;
}

describe('strict decoder equals proto-loader on valid requests', () => {
  const root = loadEtcdRoot();
  const seed = process.env.SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.SEED);
  const methods = Object.entries(services).flatMap(([serviceName, service]) =>
    Object.entries(service.service).map(([methodName, method]) => ({ name: `${serviceName}.${methodName}`, method, serviceName, methodName })),
  );

  it.each(methods)('$name', ({ method, serviceName, methodName }) => {
    const seeded = new Random(seed ^ methodName.length * 7919 ^ serviceName.length);
    const random = (): number => seeded.next();
    const rpc = root.lookupService(`etcdserverpb.${serviceName}`).methods[methodName];
    rpc.resolve();
    const type = rpc.resolvedRequestType!;
    const strict = strictDeserializer(method.path);
    for (let i = 0; i < MESSAGES_PER_METHOD; i++) {
      const message = randomMessage(type, random, 0);
      const bytes = Buffer.from(type.encode(type.fromObject(message)).finish());
      const expected = method.requestDeserialize(bytes);
      const actual = leaseIdsAsNumbers(strict(bytes));
      try {
        expect(actual).toStrictEqual(expected);
      } catch (error) {
        throw new Error(`seed ${seed} (SEED=${seed} to replay), message ${i} ${bytes.toString('hex')}: ${(error as Error).message}`);
      }
    }
  });
});
