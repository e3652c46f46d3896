// Prints one plain closing line `Tests: N passed, N failed, N skipped` after vitest's own summary,
// so CI logs end with a count any reader (or tool) understands, and lists each skip with its reason.
// With AMPULE_TEST_SUMMARY_FILE set it also writes the counts and skips as JSON (build/test.mjs
// reads it to refuse a run where a test that should run was skipped).
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0, failed = 0, skipped = 0;
    const skips: string[] = [];
    const skipped_: { name: string; note?: string }[] = [];
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const r = t.result();
        if (r.state === 'passed') passed++;
        else if (r.state === 'failed') failed++;
        else if (r.state === 'skipped') {
          skipped++;
          skips.push(`  skipped: ${t.fullName}${r.note ? ` — ${r.note}` : ''}`);
          skipped_.push({ name: `${relative(process.cwd(), m.moduleId)} > ${t.fullName}`, ...(r.note ? { note: r.note } : {}) });
        }
      }
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) failed++; // a file that failed to load
    }
    failed += unhandledErrors.length;
    if (skips.length) process.stdout.write(skips.join('\n') + '\n');
    process.stdout.write(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    const file = process.env.AMPULE_TEST_SUMMARY_FILE;
    if (file) writeFileSync(file, JSON.stringify({ passed, failed, skipped, skips: skipped_ }));
  }
}
