// The built server's query workers start from their own small bundle (dist/query-worker.mjs), not
// from the whole CLI bundle: a copy of dist/cli.mjs beside a stand-in query-worker.mjs serves a
// query, and the workers loaded the stand-in, never the copy; without a query-worker.mjs beside it
// the workers load the copy itself. Both bundles note each load on a worker thread in a file.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAppliance } from '../../../main/core/open-appliance';
import { spawnServe } from '../../serve-process';
import { ensureBuilt, ROOT } from '../cli/bin-process';
import { tempKeyFileDir } from '../core/key-file-dir';

const DIST = join(ROOT, 'dist');

describe('query workers of the built server', () => {
  let made: { dir: string; keyFile: string };
  let copy: string;
  let ws: string;
  let token: string;
  /** One line per bundle a worker thread loaded: 'query-worker' or 'cli'. */
  let loads: string;

  beforeAll(async () => {
    ensureBuilt();
    made = tempKeyFileDir('ampule-query-bundle-');
    const app = await openAppliance({ dataDir: join(made.dir, 'data'), masterKeyFile: made.keyFile });
    ws = app.control.createWorkspace({ alias: 'b' }).workspaceId;
    token = app.control.createToken(ws, { scopes: ['query'] }).token;
    app.close();
    // Under node_modules, so that the copy's `require` finds the packages (as the benchmarks' bundles
    // do), and outside dist/, which the desktop package takes whole.
    mkdirSync(join(ROOT, 'node_modules', '.cache'), { recursive: true });
    copy = mkdtempSync(join(ROOT, 'node_modules', '.cache', 'ampule-query-bundle-test-'));
    loads = join(copy, 'loads.txt');
    // The copy notes its loads on worker threads (the server's main thread loads it too).
    const note = `import { appendFileSync as __noteLoad } from 'node:fs';\nimport { isMainThread as __onMain } from 'node:worker_threads';\nif (!__onMain) __noteLoad(${JSON.stringify(loads)}, 'cli\\n');\n`;
    writeFileSync(join(copy, 'cli.mjs'), note + readFileSync(join(DIST, 'cli.mjs'), 'utf8'));
    writeFileSync(join(copy, 'run.mjs'), "const { main } = await import('./cli.mjs');\nprocess.exitCode = await main(process.argv.slice(2));\n");
  }, 120_000);
  afterAll(() => {
    rmSync(copy, { recursive: true, force: true });
    rmSync(made.dir, { recursive: true, force: true });
  });

  /** Serves from the copy, answers one query through a worker, stops; the query's status. */
  async function serveOneQuery(): Promise<number> {
    const serve = await spawnServe([join(copy, 'run.mjs'), 'serve', '--data-dir', join(made.dir, 'data'), '--master-key-file', made.keyFile, '--port', '0'], { cwd: ROOT });
    try {
      const ca = readFileSync(join(made.dir, 'data', 'tls', 'ca.crt'), 'utf8');
      return await new Promise<number>((resolve, reject) => {
        const r = request({ host: 'localhost', port: serve.port, path: `/workspaces/${ws}/api/v1/query?query=vector(1)`, headers: { authorization: `Bearer ${token}` }, ca }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        r.on('error', reject);
        r.end();
      });
    } finally {
      serve.process.kill('SIGTERM');
      await serve.exited;
    }
  }

  const loaded = () => (existsSync(loads) ? readFileSync(loads, 'utf8') : '');

  it('load dist/query-worker.mjs beside the CLI bundle', async () => {
    rmSync(loads, { force: true });
    writeFileSync(join(copy, 'query-worker.mjs'), `import { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(loads)}, 'query-worker\\n');\nawait import(${JSON.stringify(pathToFileURL(join(DIST, 'query-worker.mjs')).href)});\n`);
    expect(await serveOneQuery()).toBe(200);
    expect(loaded()).toMatch(/^(query-worker\n)+$/);
  }, 60_000);

  it('fall back to the CLI bundle itself where there is none', async () => {
    rmSync(loads, { force: true });
    rmSync(join(copy, 'query-worker.mjs'), { force: true });
    expect(await serveOneQuery()).toBe(200);
    expect(loaded()).toMatch(/^(cli\n)+$/);
  }, 60_000);
});
