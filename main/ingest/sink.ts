// How the decoders hand a request's content to ingestion: per series a key and a way to decode
// its labels (only needed the first time a series is seen), then its samples one call each, so
// decoding allocates nothing per sample.
import { isUtf8 } from 'node:buffer';
import type { Label } from '../../shared/labels';

export interface LabelSource {
  /** The series' labels as sent (not yet validated); null when a string is not valid UTF-8. */
  labels(): Label[] | null;
}

export interface SeriesSink {
  /**
   * Starts a series. `key` identifies its label set as encoded in this request. Returns false
   * to skip its samples.
   */
  series(key: string, source: LabelSource, samples: number, histograms: number): boolean;
  sample(t: number, v: number): void;
}

/** What the validating first pass counted. */
export interface RequestCounts {
  series: number;
  samples: number;
  histograms: number;
  exemplars: number;
  metadata: number;
}

export function newCounts(): RequestCounts {
  return { series: 0, samples: 0, histograms: 0, exemplars: 0, metadata: 0 };
}

/** UTF-8 text of buf[start, end), or null when it is not valid UTF-8. */
export function utf8Text(buf: Buffer, start: number, end: number, intern: (s: string) => string): string | null {
  const s = buf.toString('utf8', start, end);
  // The decoder replaces bad bytes with U+FFFD; only then is a real check needed.
  if (s.includes('\ufffd') && !isUtf8(buf.subarray(start, end))) return null;
  return intern(s);
}
