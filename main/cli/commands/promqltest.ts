// `ampule promqltest FILE…`: runs Prometheus promqltest scripts against our engine and store.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { type Command, UsageError } from '../command';
import { runScript } from '../../query/promqltest/runner';

export const promqltestCommand: Command = {
  path: ['promqltest'],
  summary: 'Run Prometheus promqltest scripts against the PromQL engine and the encrypted store',
  usage: 'FILE… [--verbose]',
  options: { verbose: { type: 'boolean', short: 'v' } },
  forwardToServer: false, // needs no data directory
  async run(args, ctx) {
    if (args.positionals.length === 0) throw new UsageError('missing FILE');
    const verbose = args.values['verbose'] === true;
    let passed = 0, failed = 0, skipped = 0;
    for (const file of args.positionals) {
      const r = runScript(readFileSync(ctx.path(file), 'utf8'));
      passed += r.passed;
      failed += r.failed;
      skipped += r.skipped;
      ctx.out(`${basename(file)}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
      for (const o of r.outcomes) {
        if (o.status === 'fail') ctx.out(`  FAIL line ${o.line}: ${o.expr}\n    ${o.reason}`);
        else if (o.status === 'skip') ctx.out(`  SKIP line ${o.line}: ${o.expr} (${o.reason})`);
        else if (verbose) ctx.out(`  ok   line ${o.line}: ${o.expr}`);
      }
    }
    ctx.out(`${passed} passed, ${failed} failed, ${skipped} skipped`);
    return failed > 0 ? 1 : 0;
  },
};
