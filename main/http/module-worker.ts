// A module of this process started on a worker thread: from dist/ the bundle built for it beside the
// caller's own, or the TypeScript source itself through tsx when running from source (tests, benchmarks).
import { existsSync } from 'node:fs';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * `self`: the calling module's import.meta.url; `bundle`: the name of its worker bundle beside it
 * in dist/. Null where neither applies (a bundle with no worker bundle beside it).
 */
export function moduleWorker(self: string, bundle: string, options: WorkerOptions): Worker | null {
  if (self.endsWith('.ts')) {
    const code = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(self)}); })`;
    return new Worker(code, { ...options, eval: true });
  }
  const own = new URL(bundle, self);
  return self.startsWith('file:') && existsSync(own) ? new Worker(own, options) : null;
}
