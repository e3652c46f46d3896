// The ingest thread first (Linux): in a real child process, the thread that calls
// otherThreadsYieldToIngest keeps nice 0, every other thread (V8's platform threads, a worker) goes
// to nice 10, a thread already nicer stays as it was, and yieldToIngest lowers only its own thread.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const MODULE = new URL('../../../main/http/thread-priority.ts', import.meta.url).pathname;
const noProc = existsSync('/proc/thread-self') ? null : 'no /proc/thread-self (not Linux): thread priorities are left alone there';

/** Runs `body` (ES module code with the module imported) in a fresh node process; returns what it printed as JSON. */
function child(body: string): unknown {
  const script = `import { otherThreadsYieldToIngest, yieldToIngest } from ${JSON.stringify(MODULE)};
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { Worker } from 'node:worker_threads';
const nice = (tid) => Number(readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').split(') ')[1].split(' ')[16]);
const niceness = () => Object.fromEntries(readdirSync('/proc/self/task').map((t) => [t, nice(t)]));
const self = readlinkSync('/proc/thread-self').split('/').pop();
${body}`;
  return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' }));
}

describe.skipIf(noProc !== null)(`thread priorities${noProc ? ` (skipped: ${noProc})` : ''}`, () => {
  it('lowers every other thread of the process to nice 10 and leaves the calling thread at 0', () => {
    const got = child(`
const worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
await new Promise((r) => worker.once('online', r));
const others = readdirSync('/proc/self/task').filter((t) => t !== self);
setPriority(Number(others[0]), 15);
otherThreadsYieldToIngest();
console.log(JSON.stringify({ self: nice(self), first: nice(others[0]), rest: others.slice(1).map(nice) }));
process.exit(0);`) as { self: number; first: number; rest: number[] };
    expect(got.self).toBe(0);
    expect(got.first).toBe(15); // already nicer: not raised
    expect(got.rest.length).toBeGreaterThanOrEqual(4); // V8's platform threads and the worker at least
    expect(new Set(got.rest)).toEqual(new Set([10]));
  });

  it('yieldToIngest lowers only the thread that calls it', () => {
    const got = child(`
yieldToIngest();
const all = niceness();
console.log(JSON.stringify({ self: all[self], others: Object.entries(all).filter(([t]) => t !== self).map(([, n]) => n) }));`) as { self: number; others: number[] };
    expect(got.self).toBe(10);
    expect(got.others.length).toBeGreaterThanOrEqual(4);
    expect(new Set(got.others)).toEqual(new Set([0]));
  });
});
