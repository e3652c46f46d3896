// What ingestion remembers about one open store between requests: the series it has seen (keyed
// by the request's own encoding of their labels, so a known series costs one map lookup and no
// label decoding), the active-series count, the rate-limit bucket and interned label strings.
import type { WorkspaceLimits } from '../control/types';
import type { Labels } from '../../shared/labels';
import type { SeriesRef } from '../tsdb/types';
import { newTokenBucket, type TokenBucket } from './limits';

/**
 * A series is active while it received a sample in the last one to two generations. Generations
 * rotate instead of being swept, so forgetting idle series costs nothing per request.
 */
export const ACTIVE_SERIES_GENERATION_MS = 60 * 60 * 1000;
const INTERN_MAX = 1 << 20;

export interface SeriesEntry {
  readonly labels: Labels;
  ref: SeriesRef;
}

export interface IngestState {
  current: Map<string, SeriesEntry>;
  previous: Map<string, SeriesEntry>;
  generationStart: number;
  readonly bucket: TokenBucket;
  /** The limits the cached series were validated against; other limits empty the cache. */
  limits: WorkspaceLimits | undefined;
  readonly strings: Map<string, string>;
}

/** Create one per open store: cached SeriesRefs are only valid for the store that issued them. */
export function createIngestState(): IngestState {
  return {
    current: new Map(),
    previous: new Map(),
    generationStart: NaN,
    bucket: newTokenBucket(),
    limits: undefined,
    strings: new Map(),
  };
}

/** Series received in the last one to two generations. */
export function activeSeries(state: IngestState): number {
  return state.current.size + state.previous.size;
}

export function rotateGenerations(state: IngestState, now: number): void {
  if (Number.isNaN(state.generationStart)) state.generationStart = now;
  if (now - state.generationStart < ACTIVE_SERIES_GENERATION_MS) return;
  const idleForTwo = now - state.generationStart >= 2 * ACTIVE_SERIES_GENERATION_MS;
  state.previous = idleForTwo ? new Map() : state.current;
  state.current = new Map();
  state.generationStart = now;
}

export function forgetSeries(state: IngestState): void {
  state.current = new Map();
  state.previous = new Map();
}

export function lookupSeries(state: IngestState, key: string): SeriesEntry | undefined {
  const hit = state.current.get(key);
  if (hit !== undefined) return hit;
  const old = state.previous.get(key);
  if (old !== undefined) {
    state.previous.delete(key);
    state.current.set(key, old);
  }
  return old;
}

/** One shared copy of each label string, so a million series do not hold a million "job"s. */
export function intern(state: IngestState, s: string): string {
  const have = state.strings.get(s);
  if (have !== undefined) return have;
  if (state.strings.size >= INTERN_MAX) state.strings.clear();
  state.strings.set(s, s);
  return s;
}
