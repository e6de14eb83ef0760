// A small command-line reader: positionals, `--name value`, `--name=value` and bare switches.

export interface ParsedArgs {
  readonly positionals: string[];
  readonly values: Map<string, string>;
  readonly switches: Set<string>;
}

export class UsageError extends Error {}

/** `switchNames` take no value; every other --name takes one. Unknown names are refused. */
export function parseArgs(argv: readonly string[], valueNames: readonly string[], switchNames: readonly string[]): ParsedArgs {
  const parsed: ParsedArgs = { positionals: [], values: new Map(), switches: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (!word.startsWith('--')) {
      parsed.positionals.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    const name = word.slice(2, eq >= 0 ? eq : undefined);
    if (switchNames.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      parsed.switches.add(name);
    } else if (valueNames.includes(name)) {
      const value = eq >= 0 ? word.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      parsed.values.set(name, value);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return parsed;
}

export function positiveNumber(args: ParsedArgs, name: string): number | undefined {
  const text = args.values.get(name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--${name} must be a positive number, got "${text}"`);
  return value;
}

export function nonNegativeNumber(args: ParsedArgs, name: string): number | undefined {
  const text = args.values.get(name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new UsageError(`--${name} must be a number ≥ 0, got "${text}"`);
  return value;
}

/** A `--name s` option in seconds (≥ 0), as milliseconds. */
export function secondsAsMs(args: ParsedArgs, name: string): number | undefined {
  const seconds = nonNegativeNumber(args, name);
  return seconds === undefined ? undefined : seconds * 1000;
}
