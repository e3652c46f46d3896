// Prints one plain closing line `Tests: N passed, N failed, N skipped` after vitest's own summary,
// so CI logs end with a count any reader (or tool) understands, and lists each skip with its reason.
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0, failed = 0, skipped = 0;
    const skips: string[] = [];
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const r = t.result();
        if (r.state === 'passed') passed++;
        else if (r.state === 'failed') failed++;
        else if (r.state === 'skipped') {
          skipped++;
          skips.push(`  skipped: ${t.fullName}${r.note ? ` — ${r.note}` : ''}`);
        }
      }
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) failed++; // a file that failed to load
    }
    failed += unhandledErrors.length;
    if (skips.length) process.stdout.write(skips.join('\n') + '\n');
    process.stdout.write(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
