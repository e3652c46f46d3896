// Parser for Prometheus's promqltest script language (see ../shared/promql/FORMAT.md).
import type { Labels } from '../../../shared/labels';
import { labelsFromRecord, labelsKey } from '../../../shared/labels';
import { parseDuration, parseNumber } from '../durations';
import type { FloatHistogram } from '../../tsdb/histogram';
import { parseHistogramItem } from '../histogram/notation';
import { StringSyntaxError, unquoteString } from '../strings';

/** A value slot of a series line: a float, a gap, a stale marker or a native histogram. */
export type SeqValue =
  | { kind: 'float'; v: number }
  | { kind: 'gap' }
  | { kind: 'stale' }
  /** `hintSet`: the counter reset hint was written, so an expected value must match it. */
  | { kind: 'histogram'; h: FloatHistogram; hintSet: boolean };

export interface SeriesLine {
  labels: Labels;
  values: SeqValue[];
}

export interface LoadCmd {
  kind: 'load';
  line: number;
  interval: number;
  nhcb: boolean;
  series: SeriesLine[];
}

export interface ClearCmd {
  kind: 'clear';
  line: number;
}

export type ExpectKind = 'fail' | 'warn' | 'info' | 'no_warn' | 'no_info' | 'ordered';

export interface ExpectLine {
  kind: ExpectKind;
  msg?: string;
  regex?: RegExp;
}

export interface EvalCmd {
  kind: 'eval';
  line: number;
  expr: string;
  instant: boolean;
  /** instant: at; range: start/end/step (ms). */
  start: number;
  end: number;
  step: number;
  expects: ExpectLine[];
  /** `expect range vector from a to b step s` for instant queries. */
  rangeVector: { start: number; end: number; step: number } | null;
  expectString: string | null;
  expectScalar: number | null;
  series: SeriesLine[];
  /** Legacy eval_fail's expected_fail_message / expected_fail_regexp. */
  failMessage?: string;
  failRegexp?: RegExp;
}

export type Command = LoadCmd | ClearCmd | EvalCmd;

export class ScriptError extends Error {}

export function parseScript(text: string): Command[] {
  const lines = text.split('\n').map((l) => {
    const t = l.trim();
    return t.startsWith('#') ? '' : t;
  });
  const cmds: Command[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === '') continue;
    const lineNo = i + 1;
    const word = l.split(/\s+/)[0]!;
    const body: string[] = [];
    const takeBody = (stopAfter?: (x: string) => boolean): void => {
      while (i + 1 < lines.length && lines[i + 1] !== '') {
        const x = lines[++i]!;
        body.push(x);
        if (stopAfter?.(x)) break;
      }
    };
    try {
      if (word === 'clear') cmds.push({ kind: 'clear', line: lineNo });
      else if (word.startsWith('load')) {
        takeBody();
        cmds.push(parseLoad(l, body, lineNo));
      } else if (word.startsWith('eval')) {
        takeBody((x) => isScalarLine(x) || x.startsWith('expected_fail_'));
        cmds.push(parseEval(l, body, lineNo));
      } else throw new ScriptError(`invalid command ${JSON.stringify(word)}`);
    } catch (e) {
      if (e instanceof ScriptError) throw new ScriptError(`line ${lineNo}: ${e.message}`);
      throw e;
    }
  }
  return cmds;
}

function duration(s: string | undefined): number {
  const d = s === undefined ? null : parseDuration(s);
  if (d === null) throw new ScriptError(`invalid duration ${JSON.stringify(s)}`);
  return d;
}

function parseLoad(header: string, body: string[], line: number): LoadCmd {
  const parts = header.split(/\s+/);
  if (parts[0] !== 'load' && parts[0] !== 'load_with_nhcb') throw new ScriptError(`invalid load command ${JSON.stringify(parts[0])}`);
  if (parts.length !== 2) throw new ScriptError('load needs exactly one interval');
  const byKey = new Map<string, SeriesLine>();
  for (const b of body) {
    if (/^\S+@st\s/.test(b)) continue; // start timestamps are not supported; the value line follows
    const s = parseSeriesLine(b);
    byKey.set(labelsKey(s.labels), s);
  }
  return { kind: 'load', line, interval: duration(parts[1]), nhcb: parts[0] === 'load_with_nhcb', series: [...byKey.values()] };
}

function isScalarLine(x: string): boolean {
  return !/\s/.test(x) && parseGoNumber(x) !== null;
}

/** Go strconv.ParseInt(base 0) then ParseFloat. */
function parseGoNumber(x: string): number | null {
  if (/^[+-]?(inf|infinity|nan)$/i.test(x)) return parseNumber(x);
  if (!/^[+-]?(0[xob][0-9a-f_]+|[0-9._]+(e[+-]?\d+)?)$/i.test(x)) return null;
  return parseNumber(x);
}

function parseEval(header: string, body: string[], line: number): EvalCmd {
  const m = /^(eval(?:_fail|_warn|_info|_ordered)?)\s+(instant|range)\s+(.*)$/.exec(header);
  if (!m) throw new ScriptError(`invalid eval command ${JSON.stringify(header)}`);
  const [, variant, mode, rest] = m as unknown as [string, string, string, string];
  const cmd: EvalCmd = {
    kind: 'eval', line, expr: '', instant: mode === 'instant', start: 0, end: 0, step: 0, expects: [],
    rangeVector: null, expectString: null, expectScalar: null, series: [],
  };
  if (cmd.instant) {
    const im = /^at\s+(\S+)\s+(.+)$/.exec(rest);
    if (!im) throw new ScriptError(`invalid instant eval ${JSON.stringify(header)}`);
    cmd.start = cmd.end = duration(im[1]);
    cmd.expr = im[2]!;
  } else {
    const rm = /^from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)$/.exec(rest);
    if (!rm) throw new ScriptError(`invalid range eval ${JSON.stringify(header)}`);
    cmd.start = duration(rm[1]);
    cmd.end = duration(rm[2]);
    cmd.step = duration(rm[3]);
    cmd.expr = rm[4]!;
    if (cmd.end < cmd.start) throw new ScriptError('invalid test definition, end timestamp is before start timestamp');
  }
  if (variant === 'eval_fail') cmd.expects.push({ kind: 'fail' });
  if (variant === 'eval_warn') cmd.expects.push({ kind: 'warn' });
  if (variant === 'eval_info') cmd.expects.push({ kind: 'info' });
  if (variant === 'eval_ordered') cmd.expects.push({ kind: 'ordered' });
  for (const b of body) {
    let x: RegExpExecArray | null;
    if ((x = /^expected_fail_message\s+(.*)$/.exec(b))) cmd.failMessage = x[1]!;
    else if ((x = /^expected_fail_regexp\s+(.*)$/.exec(b))) cmd.failRegexp = new RegExp(x[1]!);
    else if ((x = /^expect\s+range\s+vector\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)$/.exec(b))) {
      cmd.rangeVector = { start: duration(x[1]), end: duration(x[2]), step: duration(x[3]) };
    } else if ((x = /^expect\s+string\s+(.*)$/.exec(b))) {
      try {
        cmd.expectString = unquoteString(x[1]!.trim());
      } catch (e) {
        if (e instanceof StringSyntaxError) throw new ScriptError(`invalid expected string ${x[1]}`);
        throw e;
      }
    } else if ((x = /^expect\s+(fail|warn|info|no_warn|no_info|ordered)\b\s*(.*)$/.exec(b))) {
      const exp: ExpectLine = { kind: x[1] as ExpectKind };
      const tail = x[2]!;
      let y: RegExpExecArray | null;
      if ((y = /^msg:\s*(.*)$/.exec(tail))) exp.msg = y[1]!.trim();
      else if ((y = /^regex:\s*(.*)$/.exec(tail))) exp.regex = new RegExp(y[1]!.trim());
      else if (tail !== '') throw new ScriptError(`invalid expect line ${JSON.stringify(b)}`);
      cmd.expects.push(exp);
    } else if (isScalarLine(b)) cmd.expectScalar = parseGoNumber(b)!;
    else cmd.series.push(parseSeriesLine(b));
  }
  return cmd;
}

/** `name{a="b"} values…` */
export function parseSeriesLine(text: string): SeriesLine {
  const { labels, rest } = parseSeriesDesc(text);
  return { labels, values: parseValues(rest) };
}

function parseSeriesDesc(text: string): { labels: Labels; rest: string } {
  let i = 0;
  const rec: Record<string, string> = {};
  const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(text);
  if (nm) {
    rec['__name__'] = nm[0];
    i = nm[0].length;
  }
  if (text[i] === '{') {
    i++;
    for (;;) {
      while (/\s/.test(text[i] ?? '')) i++;
      if (text[i] === '}') {
        i++;
        break;
      }
      let name: string;
      const lm = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i));
      if (lm) {
        name = lm[0];
        i += name.length;
      } else {
        const q = readQuoted(text, i);
        name = q.value;
        i = q.end;
      }
      while (/\s/.test(text[i] ?? '')) i++;
      if (text[i] !== '=') {
        // `{"metric_name"}` form: a quoted name alone.
        rec['__name__'] = name;
      } else {
        i++;
        while (/\s/.test(text[i] ?? '')) i++;
        const q = readQuoted(text, i);
        rec[name] = q.value;
        i = q.end;
      }
      while (/\s/.test(text[i] ?? '')) i++;
      if (text[i] === ',') i++;
      else if (text[i] !== '}') throw new ScriptError(`invalid series description ${JSON.stringify(text)}`);
    }
  }
  if (!nm && i === 0) throw new ScriptError(`invalid series description ${JSON.stringify(text)}`);
  // An empty label value is the same as no label.
  for (const k of Object.keys(rec)) if (rec[k] === '') delete rec[k];
  return { labels: labelsFromRecord(rec), rest: text.slice(i).trim() };
}

function readQuoted(text: string, i: number): { value: string; end: number } {
  const q = text[i];
  if (q !== '"' && q !== "'" && q !== '`') throw new ScriptError(`expected a quoted string in ${JSON.stringify(text)}`);
  let j = i + 1;
  while (j < text.length && text[j] !== q) j += text[j] === '\\' && q !== '`' ? 2 : 1;
  return { value: unquoteString(text.slice(i, j + 1)), end: j + 1 };
}

const UNSIGNED = '(?:Inf|NaN|(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?)';
const NUM = `[+-]?${UNSIGNED}`;
const EXPAND_RE = new RegExp(`^(${NUM})(?:([+-])(${UNSIGNED}))?x(\\d+)$`, "i");

function parseValues(text: string): SeqValue[] {
  const out: SeqValue[] = [];
  if (text === '') return out;
  // Native histograms: `{{…}}` items (possibly with +/-/xN); each counts as one or more slots.
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (/\s/.test(text[i] ?? '')) i++;
    if (i >= text.length) break;
    if (text.startsWith('{{', i)) {
      let depth = 0, j = i;
      for (; j < text.length; j++) {
        if (text.startsWith('{{', j)) {
          depth++;
          j++;
        } else if (text.startsWith('}}', j)) {
          depth--;
          j++;
          if (depth === 0) {
            // A following `+{{…}}`/`-{{…}}` or `xN` belongs to the same item.
            if (text.startsWith('+{{', j + 1) || text.startsWith('-{{', j + 1)) continue;
            j++;
            const xm = /^x\d+/.exec(text.slice(j));
            if (xm) j += xm[0].length;
            break;
          }
        }
      }
      tokens.push(text.slice(i, j));
      i = j;
      continue;
    }
    const m = /^\S+/.exec(text.slice(i))!;
    tokens.push(m[0]);
    i += m[0].length;
  }
  for (const tok of tokens) {
    if (tok.startsWith('{{')) {
      try {
        for (const x of parseHistogramItem(tok)) out.push({ kind: 'histogram', h: x.h, hintSet: x.hintSet });
      } catch (e) {
        throw new ScriptError((e as Error).message);
      }
      continue;
    }
    if (tok === '_') {
      out.push({ kind: 'gap' });
      continue;
    }
    if (tok === 'stale') {
      out.push({ kind: 'stale' });
      continue;
    }
    const gap = /^_x(\d+)$/.exec(tok);
    if (gap) {
      for (let k = 0; k < Number(gap[1]); k++) out.push({ kind: 'gap' });
      continue;
    }
    const ex = EXPAND_RE.exec(tok);
    if (ex) {
      let v = parseNumber(ex[1]!)!;
      const step = ex[3] ? parseNumber(ex[3])! * (ex[2] === '-' ? -1 : 1) : 0;
      const n = Number(ex[4]);
      out.push({ kind: 'float', v });
      for (let k = 0; k < n; k++) {
        v += step;
        out.push({ kind: 'float', v });
      }
      continue;
    }
    if (new RegExp(`^${NUM}$`, "i").test(tok)) {
      out.push({ kind: 'float', v: parseNumber(tok)! });
      continue;
    }
    throw new ScriptError(`invalid value ${JSON.stringify(tok)}`);
  }
  return out;
}
