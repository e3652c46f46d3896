// What a piece of work costs the thread it shares with remote write: its time and the event loop's longest stall.

/** Runs `work` while a 1 ms timer notes the event loop's largest gap; [ms, longest stall ms]. */
export async function timed(work: () => Promise<unknown>): Promise<[number, number]> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 1);
  const started = performance.now();
  await work();
  const took = performance.now() - started;
  clearInterval(timer);
  worst = Math.max(worst, performance.now() - last);
  return [took, worst];
}
