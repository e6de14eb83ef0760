// Counters that the hot path adds to as plain numbers, read into prom-client only when scraped.
//
// prom-client's own inc() hashes and validates its labels on every call, even through a labelled
// child; for counters bumped per request or per message that is most of a counter's cost. Here a
// series is a CounterCell, looked up once by whoever owns it (a peer, a gRPC method) and kept; the
// hot path does `cell.value += n`, and the family's collect() copies every cell into prom-client at
// scrape time.

import { Counter } from 'prom-client';
import { registry } from './registry.js';

/** Series of one family kept alive at most: a bound on label values that come from outside. */
const CELLS_PER_FAMILY_MAX = 10_000;

/** One series of a counter family: add to `value` (never subtract). */
export class CounterCell {
  value = 0;
  constructor(readonly labels: Readonly<Record<string, string>>) {}
}

export class CounterFamily {
  private readonly cells = new Map<string, CounterCell>();
  private readonly labelNames: readonly string[];
  /** Shared by every label set past CELLS_PER_FAMILY_MAX: counted, not shown. */
  private readonly overflow: CounterCell;

  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    this.labelNames = labelNames;
    this.overflow = new CounterCell({});
    const cells = this.cells;
    new Counter({
      name,
      help,
      labelNames: [...labelNames],
      registers: [registry],
      collect(this: Counter) {
        this.reset();
        for (const cell of cells.values()) this.inc(cell.labels, cell.value);
      },
    });
  }

  /** The series for these label values (in labelNames' order), created on first use: keep it. */
  cell(...labelValues: string[]): CounterCell {
    const key = labelValues.join('\u0000');
    let cell = this.cells.get(key);
    if (cell === undefined) {
      if (this.cells.size >= CELLS_PER_FAMILY_MAX) return this.overflow;
      const labels: Record<string, string> = {};
      this.labelNames.forEach((labelName, i) => (labels[labelName] = labelValues[i] ?? ''));
      cell = new CounterCell(labels);
      this.cells.set(key, cell);
    }
    return cell;
  }
}

/**
 * Whatever a process's member binds for its gauges to read at scrape time: the latest binding
 * wins, and unbinding it (a stopped member) leaves the gauges at rest.
 */
export class Binding<T> {
  private value: T | null = null;

  get current(): T | null {
    return this.value;
  }

  /** Binds `value`; the function returned unbinds it, if it is still the one bound. */
  bind(value: T): () => void {
    this.value = value;
    return () => {
      if (this.value === value) this.value = null;
    };
  }
}
