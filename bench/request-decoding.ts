// Decode time of typical requests: proto-loader's deserializer against the strict decoder that the
// member uses (src/api/wire). A CPU micro-benchmark, not a comparison with etcd.
//   npm run build && node dist/bench/request-decoding.js

import { services } from '../src/api/protos.js';
import { strictDeserializer } from '../src/api/wire/strict-services.js';

type Method = { path: string; requestSerialize(value: object): Buffer; requestDeserialize(bytes: Buffer): unknown };

const DECODES_PER_RUN = 500_000;
const WARM_UP_DECODES = 50_000;
const RUNS = 5;

function measure(name: string, decode: (bytes: Buffer) => unknown, bytes: Buffer): void {
  for (let i = 0; i < WARM_UP_DECODES; i++) decode(bytes);
  const nsPerDecode: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < DECODES_PER_RUN; i++) decode(bytes);
    nsPerDecode.push(Number(process.hrtime.bigint() - start) / DECODES_PER_RUN);
  }
  nsPerDecode.sort((a, b) => a - b);
  const [min, median, max] = [nsPerDecode[0], nsPerDecode[RUNS >> 1], nsPerDecode[RUNS - 1]].map((ns) => ns.toFixed(0));
  console.log(`${name.padEnd(28)} ${median} ns/decode (median of ${RUNS}; min ${min}, max ${max})`);
}

const put = services.KV.service.Put as unknown as Method;
const range = services.KV.service.Range as unknown as Method;
const putBytes = put.requestSerialize({ key: Buffer.alloc(16, 0x61), value: Buffer.alloc(256, 0x62) });
const rangeBytes = range.requestSerialize({ key: Buffer.alloc(16, 0x61), range_end: Buffer.alloc(16, 0x62), limit: 100, revision: 12345, serializable: true });
console.log(`PutRequest (key 16 B, value 256 B): ${putBytes.length} B; RangeRequest: ${rangeBytes.length} B`);
measure('PutRequest proto-loader', put.requestDeserialize, putBytes);
measure('PutRequest strict', strictDeserializer(put.path), putBytes);
measure('RangeRequest proto-loader', range.requestDeserialize, rangeBytes);
measure('RangeRequest strict', strictDeserializer(range.path), rangeBytes);
