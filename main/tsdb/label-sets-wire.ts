// Label sets crossing from the ingest thread to a query worker (snapshot and listing parts): a part's
// distinct strings once (the store's own strings: a clone copies each once, and a part's series
// share most names and values), each set as indexes into them. The worker makes one label object a
// distinct pair, as the head shares them. Keys joined here and parsed there cost the first chart
// over 100,000 series ~300 ms on the worker (a slice and a lookup a string).
import type { Label, Labels } from '../../shared/labels';

export interface PackedLabelSets {
  readonly strings: string[];
  /** Each set's number of labels; -1 for a set left out (the worker holds it already). */
  readonly sizes: Int32Array;
  /** Set after set, each label's name then its value, as indexes into `strings`. */
  readonly refs: Uint32Array;
}

/** `sets` in the wire form; null leaves a set out. */
export function packLabelSets(sets: readonly (Labels | null)[]): PackedLabelSets {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const ref = (text: string): number => {
    let i = index.get(text);
    if (i === undefined) index.set(text, (i = strings.push(text) - 1));
    return i;
  };
  const sizes = new Int32Array(sets.length);
  let labels = 0;
  for (const s of sets) labels += s?.length ?? 0;
  const refs = new Uint32Array(2 * labels);
  let at = 0;
  sets.forEach((s, i) => {
    if (!s) return void (sizes[i] = -1);
    sizes[i] = s.length;
    for (const l of s) (refs[at++] = ref(l.name)), (refs[at++] = ref(l.value));
  });
  return { strings, sizes, refs };
}

/** The buffers to move (not copy) to the worker. */
export function labelSetBuffers(p: PackedLabelSets): ArrayBuffer[] {
  return [p.sizes.buffer as ArrayBuffer, p.refs.buffer as ArrayBuffer];
}

/** The sets back (null where left out). */
export function unpackLabelSets(p: PackedLabelSets): (Labels | null)[] {
  const strings = p.strings;
  const pairs = new Map<number, Label>();
  const out = new Array<Labels | null>(p.sizes.length);
  let at = 0;
  for (let k = 0; k < p.sizes.length; k++) {
    const size = p.sizes[k]!;
    if (size < 0) {
      out[k] = null;
      continue;
    }
    const labels = new Array<Label>(size);
    for (let i = 0; i < size; i++, at += 2) {
      const key = p.refs[at]! * strings.length + p.refs[at + 1]!;
      let pair = pairs.get(key);
      if (!pair) pairs.set(key, (pair = { name: strings[p.refs[at]!]!, value: strings[p.refs[at + 1]!]! }));
      labels[i] = pair;
    }
    out[k] = labels;
  }
  return out;
}
