// Every server process the harness starts is registered here and killed when the harness exits,
// however it exits: normally, on an error, or on Ctrl-C. Temporary directories go the same way.

import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const children = new Set<ChildProcess>();
const directories = new Set<string>();
let installed = false;

export function trackChild(child: ChildProcess): void {
  installHandlers();
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export function trackDirectory(path: string): void {
  installHandlers();
  directories.add(path);
}

export function removeDirectory(path: string): void {
  rmSync(path, { recursive: true, force: true });
  directories.delete(path);
}

/** Synchronous, so it also works inside an 'exit' handler. */
export function killEverything(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const path of directories) rmSync(path, { recursive: true, force: true });
  directories.clear();
}

function installHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killEverything);
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping every server process\n`);
      killEverything();
      process.exit(code);
    });
  }
  process.on('uncaughtException', (error) => {
    process.stderr.write(`uncaught: ${error.stack ?? error.message}\n`);
    killEverything();
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}\n`);
    killEverything();
    process.exit(1);
  });
}

/**
 * Runs a command's main and exits with its code, killing every process it started on the way out:
 * a usage error prints the usage (exit 2), any other error its stack (exit 1).
 */
export function runMain(main: () => Promise<number>, usage: string, isUsageError: (error: unknown) => boolean): void {
  main().then(
    (code) => {
      killEverything();
      process.exit(code);
    },
    (error: unknown) => {
      killEverything();
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stderr.write(isUsageError(error) ? `${(error as Error).message}\n\n${usage}\n` : `error: ${detail}\n`);
      process.exit(isUsageError(error) ? 2 : 1);
    },
  );
}
