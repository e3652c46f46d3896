// A page of the series index: label sets of many series with a per-page symbol table, sealed as
// one ciphertext. Plaintext: version, symbols, then per series: id delta, label count, symbol refs.
import type { Label, Labels } from '../../shared/labels';
import { ByteReader, ByteWriter } from './bytes';

const VERSION = 1;

export interface SeriesEntry {
  readonly id: number;
  readonly labels: Labels;
}

/** `entries` sorted by id. */
export function encodeSeriesPage(entries: readonly SeriesEntry[]): Buffer {
  const symbols = new Map<string, number>();
  const sym = (s: string): number => {
    let i = symbols.get(s);
    if (i === undefined) symbols.set(s, (i = symbols.size));
    return i;
  };
  const body = new ByteWriter(entries.length * 16 + 16);
  let prev = 0;
  for (const e of entries) {
    body.varint(e.id - prev);
    prev = e.id;
    body.varint(e.labels.length);
    for (const l of e.labels) {
      body.varint(sym(l.name));
      body.varint(sym(l.value));
    }
  }
  const out = new ByteWriter(body.len + symbols.size * 16 + 16);
  out.byte(VERSION);
  out.varint(symbols.size);
  for (const s of symbols.keys()) out.string(s);
  out.varint(entries.length);
  out.bytes(body.toBuffer());
  return out.toBuffer();
}

export function decodeSeriesPage(buf: Buffer): SeriesEntry[] {
  const r = new ByteReader(buf);
  const version = r.byte();
  if (version !== VERSION) throw new RangeError(`unknown series page version ${version}`);
  const symbols: string[] = [];
  for (let i = r.varint(); i > 0; i--) symbols.push(r.string());
  const symbol = (): string => {
    const s = symbols[r.varint()];
    if (s === undefined) throw new RangeError('series page refers to a missing symbol');
    return s;
  };
  const entries: SeriesEntry[] = [];
  let id = 0;
  for (let n = r.varint(); n > 0; n--) {
    id += r.varint();
    const labels: Label[] = [];
    for (let k = r.varint(); k > 0; k--) labels.push({ name: symbol(), value: symbol() });
    entries.push({ id, labels });
  }
  return entries;
}
