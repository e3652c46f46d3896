// Command-line knobs shared by the benchmarks: `--name N` numbers and `--flag` switches.
const argv = process.argv.slice(2);

export function numberArg(name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(argv[i + 1]);
  if (!Number.isFinite(value)) throw new Error(`--${name} takes a number, got '${argv[i + 1] ?? ''}'`);
  return value;
}

export function flag(name: string): boolean {
  return argv.includes(`--${name}`);
}

export function stringArg(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? undefined : argv[i + 1];
}
