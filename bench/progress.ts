// Progress while a run goes on: one line per step on stderr (stdout carries the results), each
// with the time since the start.

export type Log = (line: string) => void;

export function createProgress(stream: NodeJS.WritableStream = process.stderr): Log {
  const startedAt = performance.now();
  return (line) => {
    const elapsedS = (performance.now() - startedAt) / 1000;
    stream.write(`[${elapsedS.toFixed(1).padStart(6)}s] ${line}\n`);
  };
}

/** The same log with a prefix naming where the line comes from. */
export function scoped(log: Log, prefix: string): Log {
  return (line) => log(`${prefix} ${line}`);
}
