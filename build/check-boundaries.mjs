// Fails when code crosses a boundary of the design card (VS Code's layering rule, as a script):
//   shared/   imports nothing from main/, renderer/, electron or node:* (pure, runs everywhere);
//   renderer/ imports only shared/ and DOM-side packages (never main/, node:* or electron);
//   main/     never imports renderer/; inside main/, a folder imports only folders below it in
//             MAIN_LAYERS (type-only imports too), so there are no cycles between main/'s folders;
//             and no files of main/ import each other in a loop (type-only imports too).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODE_ONLY_PACKAGES = ['better-sqlite3', '@napi-rs/keyring', 'snappyjs', 'electron', 'playwright-core'];
const DOM_ONLY_PACKAGES = ['uplot', '@codemirror/autocomplete', '@codemirror/commands', '@codemirror/language', '@codemirror/lint', '@codemirror/state', '@codemirror/view', '@prometheus-io/codemirror-promql'];

/**
 * main/'s folders, top first: each may import only the folders after it. A new folder must be
 * placed here (the lint names one that is not).
 */
export const MAIN_LAYERS = [
  'app', // the Electron main process: windows, tray, IPC
  'worker', // the appliance core's process (Electron utility process / worker thread)
  'cli', // `ampule …` commands, `serve` among them
  'host', // the one composition root: admin channel, service runtime, HTTPS listener, console
  'admin', // the CLI's channel into a running server
  'backup',
  'export', // `ampule export`: a workspace out as OpenMetrics text or remote write
  'console', // the web console
  'service', // the window's API contract, ingest figures, protection checks
  'checklist',
  'http', // the HTTPS listener and routes
  'retention',
  'core', // the appliance and its per-workspace Tenants
  'alerting', // alert manager definitions, the notifier
  'forward', // remote write to other stores: encoding, senders, relabelling
  'rules', // rule files, templates, rule evaluation
  'query', // PromQL
  'ingest', // remote-write decoding and limits
  'discovery',
  'audit',
  'tls',
  'control', // control.db: workspaces, tokens, limits, settings
  'tsdb',
  'crypto',
];

/** Why an import from main/<from>/ of main/<to>/ crosses the folder order, or null. */
function layerCrossing(from, to) {
  if (from === to) return null;
  const a = MAIN_LAYERS.indexOf(from);
  const b = MAIN_LAYERS.indexOf(to);
  if (a < 0) return `main/${from}/ is not in MAIN_LAYERS (build/check-boundaries.mjs): place it in the folder order`;
  if (b < 0) return `main/${to}/ is not in MAIN_LAYERS (build/check-boundaries.mjs): place it in the folder order`;
  if (b < a) return `main/${from}/ may import only folders below it (${MAIN_LAYERS.slice(a + 1).join(', ')}), not main/${to}/`;
  return null;
}

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (/\.(ts|tsx|mts|cts|js|mjs)$/.test(name)) yield p;
  }
}

const importRe = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

/** The file a relative import names (with or without its extension, or a folder's index), or null. */
function importedFile(file, spec) {
  const base = resolve(dirname(file), spec);
  for (const p of [base, ...['.ts', '.tsx', '.mts', '.js', '.mjs'].map((e) => base.replace(/\.js$/, '') + e), join(base, 'index.ts')]) {
    try {
      if (statSync(p).isFile()) return p;
    } catch {}
  }
  return null;
}

/** Files of main/ that import each other in a loop (Tarjan's strongly connected components), each loop as its files. */
function fileLoops(graph) {
  const index = new Map(), low = new Map(), stack = [], onStack = new Set(), loops = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    // v is the first file of a component: the files above it on the stack are the rest.
    const loop = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      loop.push(w);
    } while (w !== v);
    if (loop.length > 1) loops.push(loop.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return loops;
}

export function violations(rootDir = root) {
  const found = [];
  /** main/'s files → the main/ files they import. */
  const graph = new Map();
  for (const layer of ['shared', 'renderer', 'main']) {
    let list;
    try { list = [...files(join(rootDir, layer))]; } catch { continue; }
    for (const file of list) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(importRe)) {
        const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
        const targetPath = spec.startsWith('.') ? relative(rootDir, resolve(dirname(file), spec)).split(/[\\/]/) : null;
        const target = targetPath ? targetPath[0] : null;
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        let why = null;
        if (layer === 'shared') {
          if (target && target !== 'shared') why = `shared/ may not import ${target}/`;
          else if (spec.startsWith('node:') || NODE_ONLY_PACKAGES.includes(pkg) || DOM_ONLY_PACKAGES.includes(pkg)) why = `shared/ must stay pure, not import ${spec}`;
        } else if (layer === 'renderer') {
          if (target && target !== 'renderer' && target !== 'shared') why = `renderer/ may only import shared/, not ${target}/`;
          else if (spec.startsWith('node:') || NODE_ONLY_PACKAGES.includes(pkg)) why = `renderer/ may not import node-only ${spec}`;
        } else if (layer === 'main') {
          const fromFolder = relative(join(rootDir, 'main'), file).split(/[\\/]/);
          if (target === 'renderer') why = 'main/ may not import renderer/';
          else if (DOM_ONLY_PACKAGES.includes(pkg)) why = `main/ may not import DOM-only ${spec}`;
          else if (target === 'main' && targetPath.length > 2 && fromFolder.length > 1) why = layerCrossing(fromFolder[0], targetPath[1]);
          const to = target === 'main' ? importedFile(file, spec) : null;
          if (to) graph.set(file, [...(graph.get(file) ?? []), to]);
        }
        if (why) found.push(`${relative(rootDir, file)}: imports '${spec}': ${why}`);
      }
    }
  }
  for (const loop of fileLoops(graph)) {
    const names = loop.map((f) => relative(rootDir, f).split(/[\\/]/).join('/'));
    found.push(`${names[0]}: imports itself through ${names.slice(1).join(', ')}: files of main/ may not import each other in a loop (move what both need to a file of its own)`);
  }
  return found;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const v = violations(process.argv[2] ? resolve(process.argv[2]) : root);
  for (const line of v) console.error(line);
  if (v.length) {
    console.error(`lint: ${v.length} boundary violation(s)`);
    process.exit(1);
  }
  console.log(`lint: layer boundaries hold (shared pure, renderer ↛ main, main ↛ renderer, main/ folders in order: ${MAIN_LAYERS.join(' > ')}; no loops of files in main/)`);
}
