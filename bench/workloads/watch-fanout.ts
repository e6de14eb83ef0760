// Watch fan-out: 1,000 watchers on one prefix over a handful of streams, and a writer putting
// under the prefix at a steady rate. Each value starts with the time it was sent (this process's
// clock), so each event's delivery lag is its receive time minus that.

import type { ClientDuplexStream } from '@grpc/grpc-js';
import { prefixRangeEnd } from '../client.js';
import { VALUE_BYTES } from '../keys.js';
import { summarizeLatencies } from '../stats.js';
import { errorMessage, pollUntil, sleep } from '../time.js';
import type { Workload } from '../workload.js';

const WATCHERS = 1000;
const STREAMS = 8;
const WRITES_PER_SECOND = 50;
const CREATE_TIMEOUT_MS = 30_000;
const DRAIN_TIMEOUT_MS = 10_000;
/** More unacknowledged puts than this means the writer cannot keep its rate: the measurement is void. */
const WRITER_BACKLOG_MAX = 500;

function timestampedValue(sentAtMs: number): Buffer {
  return Buffer.from(`${sentAtMs} `.padEnd(VALUE_BYTES, 'x'));
}

function sentAtOf(value: Buffer): number {
  return Number(value.subarray(0, value.indexOf(0x20)).toString());
}

export const watchFanoutWorkload: Workload = {
  name: 'watch',
  description: `${WATCHERS.toLocaleString('en-US')} watchers on one prefix over ${STREAMS} streams, ${WRITES_PER_SECOND} puts/s under the prefix`,
  metrics: [
    { name: 'events delivered/s', unit: 'events/s', better: 'higher' },
    { name: 'delivery lag p99', unit: 'ms', better: 'lower' },
  ],
  needs: 'endpoints',
  timeBudgetMs: (options) => CREATE_TIMEOUT_MS + options.warmupMs + options.durationMs + DRAIN_TIMEOUT_MS + 30_000,
  async run({ client, options, log }) {
    // A prefix of its own per run, so nothing written before can reach these watchers.
    const prefix = `bench/watch/${Date.now()}/`;
    const rangeEnd = prefixRangeEnd(prefix);
    const streams: Array<ClientDuplexStream<object, any>> = [];
    let created = 0;
    let failure: Error | null = null;
    let closing = false;
    let windowStart = Infinity;
    let counted = 0;
    let lastCountedAt = 0;
    const lagsMs: number[] = [];

    try {
      for (let s = 0; s < STREAMS; s++) {
        const stream = client.next().watchStream();
        streams.push(stream);
        stream.on('data', (response: any) => {
          if (response.created) created++;
          if (response.canceled) failure ??= new Error(`watcher canceled: ${response.cancel_reason || 'no reason given'}`);
          const receivedAt = performance.now();
          for (const event of response.events ?? []) {
            const sentAt = sentAtOf(event.kv.value);
            if (sentAt < windowStart) continue;
            counted++;
            lastCountedAt = receivedAt;
            lagsMs.push(receivedAt - sentAt);
          }
        });
        stream.on('error', (error: Error) => {
          if (!closing) failure ??= error;
        });
        const watchersHere = Math.floor(WATCHERS / STREAMS) + (s < WATCHERS % STREAMS ? 1 : 0);
        for (let w = 0; w < watchersHere; w++) stream.write({ create_request: { key: Buffer.from(prefix), range_end: rangeEnd } });
      }
      await pollUntil(`${WATCHERS} watchers created`, async () => {
        if (failure !== null) throw failure;
        return created >= WATCHERS ? true : undefined;
      }, CREATE_TIMEOUT_MS, 20);
      log(`watch: ${created} watchers created on ${STREAMS} streams`);

      // The writer: one put every period, on schedule whether or not earlier ones were answered.
      const periodMs = 1000 / WRITES_PER_SECOND;
      const writerStart = performance.now();
      const writerEnd = writerStart + options.warmupMs + options.durationMs;
      windowStart = writerStart + options.warmupMs;
      const puts: Array<Promise<unknown>> = [];
      let unanswered = 0;
      let putsInWindow = 0;
      for (let i = 0; ; i++) {
        const due = writerStart + i * periodMs;
        if (due >= writerEnd) break;
        await sleep(due - performance.now());
        if (failure !== null) throw failure;
        if (unanswered > WRITER_BACKLOG_MAX) throw new Error(`the writer has ${unanswered} puts unanswered: it cannot keep ${WRITES_PER_SECOND} puts/s`);
        // Rounded as it is written into the value, so the watchers' side counts exactly these puts.
        const sentAt = Number(performance.now().toFixed(3));
        if (sentAt >= windowStart) putsInWindow++;
        unanswered++;
        const put = client.next().put(`${prefix}${i % 100}`, timestampedValue(sentAt));
        puts.push(put.then(() => undefined, (error: Error) => (failure ??= error)).finally(() => unanswered--));
      }
      await Promise.all(puts);
      if (failure !== null) throw failure;
      const expected = putsInWindow * WATCHERS;
      await pollUntil(`delivery of ${expected} events`, async () => {
        if (failure !== null) throw failure;
        return counted >= expected ? true : undefined;
      }, DRAIN_TIMEOUT_MS, 20).catch((error) => {
        throw new Error(`${counted} of ${expected} events arrived within ${DRAIN_TIMEOUT_MS} ms of the last put (${errorMessage(error)})`);
      });

      const eventsPerSecond = counted / ((lastCountedAt - windowStart) / 1000);
      const lag = summarizeLatencies(lagsMs);
      log(`watch: ${Math.round(eventsPerSecond)} events/s, lag p50 ${lag.p50Ms.toFixed(1)} ms, p99 ${lag.p99Ms.toFixed(1)} ms`);
      return { 'events delivered/s': eventsPerSecond, 'delivery lag p99': lag.p99Ms };
    } finally {
      closing = true;
      for (const stream of streams) {
        stream.end();
        stream.cancel();
      }
    }
  },
};
