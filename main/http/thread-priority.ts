// Linux scheduling for "queries never stall ingestion": the ingest thread keeps nice 0 and every
// other busy thread of the process runs at nice 10, so when both want a core the ingest thread gets
// it first. Elsewhere (no /proc, or not permitted) threads keep the process's priority.
import { readdirSync, readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** Niceness of query threads and of the process's other threads (Linux). */
const QUERY_THREAD_NICE = 10;

function thisThreadId(): number {
  return Number(readlinkSync('/proc/thread-self').split('/').pop());
}

/** Lowers a thread to QUERY_THREAD_NICE (never raises one already nicer). */
function lower(tid: number): void {
  if (!Number.isSafeInteger(tid) || tid <= 0) return;
  try {
    if (getPriority(tid) < QUERY_THREAD_NICE) setPriority(tid, QUERY_THREAD_NICE);
  } catch {
    // the thread ended meanwhile, or not permitted
  }
}

/** This thread (a query worker or its helper) yields the CPU to the ingest thread. */
export function yieldToIngest(): void {
  try {
    lower(thisThreadId());
  } catch {
    // no /proc
  }
}

/**
 * Called on the ingest thread as query threads start: every other thread the process has then
 * yields to it too. V8's platform threads above all: at nice 0 they collected the query threads'
 * garbage (a third of a core under a heavy query loop) on equal terms with the ingest thread. In
 * `bench:mixed` the remote-write p99 with queries was 87–118 ms in every run with them at nice 0.
 * Threads started later (query workers, helpers) lower themselves. Not in Electron, whose
 * utility process also runs Chromium's IPC threads.
 */
export function otherThreadsYieldToIngest(): void {
  if (process.versions.electron) return;
  try {
    const self = thisThreadId();
    for (const entry of readdirSync('/proc/self/task')) if (Number(entry) !== self) lower(Number(entry));
  } catch {
    // no /proc
  }
}
