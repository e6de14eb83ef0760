// The request messages of every etcdserverpb method, read from our .proto files by reflection, so
// the generator covers each service and method the proto declares without a hand-kept list.

import { isAbsolute, join } from 'node:path';
import protobuf from 'protobufjs';

export type ScalarKind = 'int64' | 'uint64' | 'int32' | 'uint32' | 'bool' | 'enum' | 'bytes' | 'string';

export interface FieldInfo {
  readonly name: string;
  readonly id: number;
  readonly repeated: boolean;
  readonly kind: ScalarKind | 'message';
  /** For a message field: its type; for an enum: its largest value. */
  readonly messageType?: MessageInfo;
  readonly enumMax?: number;
  /** Members of one oneof share a group name. */
  readonly oneof?: string;
}

export interface MessageInfo {
  readonly name: string;
  readonly fields: FieldInfo[];
}

export interface MethodInfo {
  readonly service: string;
  readonly name: string;
  readonly path: string;
  readonly streaming: boolean;
  readonly request: MessageInfo;
}

function protoDir(): string {
  // Runs from test/badinput (vitest) or dist/test/badinput (the compiled CLI).
  const here = import.meta.dirname;
  const up = /[\\/]dist[\\/]test[\\/]/.test(here) ? join(here, '..', '..', '..') : join(here, '..', '..');
  return join(up, 'proto');
}

function load(): MethodInfo[] {
  const dir = protoDir();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(dir, target));
  root.loadSync(join(dir, 'etcdserverpb', 'rpc.proto'), { keepCase: true });
  root.resolveAll();
  const messages = new Map<string, MessageInfo>();
  const describe = (type: protobuf.Type): MessageInfo => {
    const known = messages.get(type.fullName);
    if (known !== undefined) return known;
    const fields: FieldInfo[] = [];
    const info: MessageInfo = { name: type.name, fields };
    messages.set(type.fullName, info); // before the fields: TxnRequest nests itself
    for (const field of type.fieldsArray) {
      const resolved = field.resolvedType;
      const base = { name: field.name, id: field.id, repeated: field.repeated, ...(field.partOf === null ? {} : { oneof: field.partOf.name }) };
      if (resolved instanceof protobuf.Type) fields.push({ ...base, kind: 'message', messageType: describe(resolved) });
      else if (resolved instanceof protobuf.Enum) fields.push({ ...base, kind: 'enum', enumMax: Math.max(...Object.values(resolved.values)) });
      else fields.push({ ...base, kind: field.type as ScalarKind });
    }
    return info;
  };
  const methods: MethodInfo[] = [];
  const namespace = root.lookup('etcdserverpb') as protobuf.Namespace;
  for (const service of namespace.nestedArray.filter((n): n is protobuf.Service => n instanceof protobuf.Service)) {
    for (const method of service.methodsArray) {
      methods.push({
        service: service.name,
        name: method.name,
        path: `/etcdserverpb.${service.name}/${method.name}`,
        streaming: method.requestStream === true || method.responseStream === true,
        request: describe(root.lookupType(`etcdserverpb.${method.requestType}`)),
      });
    }
  }
  return methods;
}

export const METHODS: readonly MethodInfo[] = load();
