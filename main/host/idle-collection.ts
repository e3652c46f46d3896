// Memory back after a burst: V8 collects the old generation when allocation pushes it there, so a
// process that goes quiet keeps the garbage of its last burst (decoded requests, the head lists'
// outgrown buffers) for as long as it stays quiet. Measured after a 100,000-series load and 10 s
// idle: resident 636 MiB, and 453 MiB after one full collection (array buffers 131 → 51 MiB).
// So once the ingest thread has been quiet for a check (5 s), one full collection runs; never while
// it is busy: a full collection is one pause (with a 2 h head of 100,000 series alone in a process,
// 81–92 ms, and 695 ms with a load's garbage to free; 17–45 ms at 10,000 series), and steady
// scrapes of 100,000 series keep the thread above the threshold.
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const CHECK_MS = 5_000;
/** The ingest thread counts as quiet below this event-loop utilisation over a check (100,000 series scraped every 15 s send 6,700 samples/s: ~1.6 % at the 2.4 CPU s per million samples bench:ingest measures). */
const QUIET_UTILISATION = 0.005;
/** Heap and array-buffer growth since the last full collection that makes one worth running. */
const WORTH_BYTES = 32 * 2 ** 20;

export interface IdleCollection {
  /** Full collections run so far. */
  readonly collections: number;
  close(): void;
}

/** V8's collector as a function (node --expose-gc's `gc`), or null where it cannot be had. */
function collector(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

const used = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/** Starts the checks on this (the ingest) thread; null where V8's collector cannot be called. */
export function startIdleCollection(checkMs = CHECK_MS): IdleCollection | null {
  const gc = collector();
  if (!gc) return null;
  let collections = 0;
  let afterLast = used();
  let elu = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const quiet = performance.eventLoopUtilization(now, elu).utilization < QUIET_UTILISATION;
    elu = now;
    if (!quiet || used() - afterLast < WORTH_BYTES) return;
    gc();
    collections++;
    afterLast = used();
  }, checkMs);
  timer.unref();
  return {
    get collections() {
      return collections;
    },
    close: () => clearInterval(timer),
  };
}
