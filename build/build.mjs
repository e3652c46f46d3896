// Bundles the node side (CLI, core worker, Electron shell and preload) and the renderer with esbuild.
// Type checking is separate (`npm run typecheck`); this only emits JavaScript into dist/.
import { existsSync, mkdirSync, cpSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.log('build: esbuild is not installed yet (dependencies still installing); skipping');
  process.exit(0);
}

// Native and runtime-provided modules stay outside the bundle.
const nodeExternal = ['better-sqlite3', '@napi-rs/keyring', 'electron'];

const targets = [
  { in: 'main/cli/index.ts', out: 'dist/cli.mjs', platform: 'node', format: 'esm' },
  { in: 'main/worker/worker.ts', out: 'dist/core-worker.mjs', platform: 'node', format: 'esm' },
  // Query workers load only the query side (main/http/query-pool.ts QUERY_WORKER_BUNDLE).
  { in: 'main/http/query-worker.ts', out: 'dist/query-worker.mjs', platform: 'node', format: 'esm' },
  // The self-test's reading thread (main/service/self-test-worker.ts spawns it beside its bundle).
  { in: 'main/service/self-test-worker.ts', out: 'dist/self-test-worker.mjs', platform: 'node', format: 'esm' },
  { in: 'main/app/main.ts', out: 'dist/app/main.cjs', platform: 'node', format: 'cjs' },
  // Sandboxed preloads cannot be ES modules.
  { in: 'main/app/preload.ts', out: 'dist/app/preload.cjs', platform: 'node', format: 'cjs' },
  { in: 'renderer/index.ts', out: 'dist/renderer/app.js', platform: 'browser', format: 'esm' },
];

const started = Date.now();
for (const t of targets) {
  if (!existsSync(join(root, t.in))) continue;
  await esbuild.build({
    entryPoints: [join(root, t.in)],
    outfile: join(root, t.out),
    bundle: true,
    platform: t.platform,
    format: t.format,
    target: t.platform === 'node' ? 'node20' : 'chrome120',
    external: t.platform === 'node' ? nodeExternal : [],
    sourcemap: true,
    // The window's bundle carries CodeMirror and uPlot: minified it loads in a third of the time.
    minify: t.platform === 'browser' && !process.env.AMPULE_NO_MINIFY,
    logLevel: 'warning',
    // ESM bundles that pull in CommonJS dependencies need a real `require`.
    banner:
      t.format === 'esm' && t.platform === 'node'
        ? { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
        : undefined,
  });
}

// Static renderer files (HTML, CSS) next to the bundle.
const staticDir = join(root, 'renderer');
if (existsSync(staticDir)) {
  mkdirSync(join(root, 'dist/renderer'), { recursive: true });
  for (const f of readdirSync(staticDir)) {
    if (f.endsWith('.html') || f.endsWith('.css')) cpSync(join(staticDir, f), join(root, 'dist/renderer', f));
  }
  const uplotCss = join(root, 'node_modules/uplot/dist/uPlot.min.css');
  if (existsSync(uplotCss)) cpSync(uplotCss, join(root, 'dist/renderer/uPlot.min.css'));
}
console.log(`build: dist/ ready in ${Date.now() - started} ms`);
