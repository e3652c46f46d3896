// `npm run audit:electron`: runs Doyensec's electronegativity over the Electron shell's source
// (main/app, the core worker, the renderer's HTML and scripts) and fails on any finding above LOW
// severity. Findings marked `eng-disable CHECK` inline were reviewed; the comment says why.
// The check that downloads Electron's release list is skipped: it needs the internet, and the
// Electron version is pinned in package.json anyway.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
export const SOURCES = ['main/app', 'main/worker/worker.ts', 'renderer', 'package.json'];
const EXCLUDED = ['AvailableSecurityFixesGlobalCheck'];

/** Runs the scan over SOURCES under sourceRoot; resolves with every finding (file relative to it). */
export async function electronegativity(sourceRoot = root) {
  const run = require('@doyensec/electronegativity');
  const input = mkdtempSync(join(tmpdir(), 'ampule-eng-'));
  try {
    for (const s of SOURCES) {
      mkdirSync(join(input, s, '..'), { recursive: true });
      cpSync(join(sourceRoot, s), join(input, s), { recursive: true, filter: (f) => !f.endsWith('.test.ts') });
    }
    const electronVersion = require(join(root, 'node_modules', 'electron', 'package.json')).version;
    const quiet = console.log;
    console.log = () => {};
    let result;
    try {
      result = await run({ input, isRelative: true, customScan: [], excludeFromScan: EXCLUDED, electronVersionOverride: electronVersion, severitySet: 'informational', confidenceSet: 'tentative' });
    } finally {
      console.log = quiet;
    }
    const files = readdirSync(input, { recursive: true }).length;
    return {
      files,
      errors: result.errors ?? [],
      findings: result.issues.map((i) => ({
        id: i.id,
        severity: i.severity.name,
        confidence: i.confidence.name,
        file: relative(input, join(input, i.file)),
        line: i.location.line,
        review: !!i.manualReview,
        url: i.shortenedURL,
      })),
    };
  } finally {
    rmSync(input, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { files, errors, findings } = await electronegativity();
  for (const e of errors) console.error(`electronegativity: could not parse ${e.file}: ${e.message}`);
  for (const f of findings) console.log(`${f.severity.padEnd(13)} ${f.confidence.padEnd(9)} ${f.id} ${f.file}:${f.line}${f.review ? ' (review)' : ''} ${f.url}`);
  const serious = findings.filter((f) => f.severity === 'HIGH' || f.severity === 'MEDIUM');
  console.log(`electronegativity: ${files} files, ${findings.length} finding(s), ${serious.length} above LOW`);
  if (serious.length || errors.length) process.exit(1);
}
