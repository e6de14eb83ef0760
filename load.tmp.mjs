import { BenchClient } from './dist/bench/client.js';
import { loadKeys, randomValue } from './dist/bench/keys.js';
const client = new BenchClient([`127.0.0.1:${process.argv[2]}`]);
const t = performance.now();
await loadKeys(client, 'bench/memory/', Number(process.argv[3]), randomValue(Number(process.argv[4])));
console.log(`loaded in ${(performance.now() - t).toFixed(0)} ms`);
client.close();
