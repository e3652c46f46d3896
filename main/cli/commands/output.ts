// Shared output helpers for the control-plane commands: `--json` prints exactly one JSON value;
// progress goes to stderr so it never mixes into it.
import type { CliContext, ParsedArgs } from '../command';
import { UsageError } from '../command';

export const JSON_OPTION = { json: { type: 'boolean' } } as const;

export function wantsJson(args: ParsedArgs): boolean {
  return args.values.json === true;
}

export function printJson(ctx: CliContext, value: unknown): void {
  ctx.out(JSON.stringify(value, null, 2));
}

/** With --json the value, otherwise the human sentence. */
export function reply(args: ParsedArgs, ctx: CliContext, value: unknown, text: string): void {
  if (wantsJson(args)) printJson(ctx, value);
  else ctx.out(text);
}

/** Values of a string option that may be repeated and/or comma-separated. */
export function listOption(args: ParsedArgs, name: string): string[] {
  const v = args.values[name];
  const raw = v === undefined ? [] : Array.isArray(v) ? v : [String(v)];
  return raw.flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
}

/** `--tag k=v`, repeated. */
export function tagOptions(args: ParsedArgs): Record<string, string> {
  const v = args.values.tag;
  const tags: Record<string, string> = {};
  for (const t of v === undefined ? [] : Array.isArray(v) ? v : [String(v)]) {
    const eq = t.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag "${t}" must look like key=value`);
    tags[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return tags;
}

/** Aligned columns for human output. */
export function table(ctx: CliContext, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const r of [header, ...rows]) ctx.out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** Progress on stderr, at most every half second, plus the final line. */
export function progressPrinter(ctx: CliContext, label: string): { update(text: string): void; done(text: string): void } {
  let last = 0;
  return {
    update(text) {
      const now = Date.now();
      if (now - last < 500) return;
      last = now;
      ctx.err(`${label}: ${text}`);
    },
    done(text) {
      ctx.err(`${label}: ${text}`);
    },
  };
}
