// Test helpers: a temp dir holding a random master key in a 0600 file (the `--master-key-file`
// way, no keychain needed), and the CLI run against the data directory next to it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../main/cli/index';

/** The caller removes `dir`; the data directory is `join(dir, 'data')`. */
export function tempKeyFileDir(prefix: string): { dir: string; keyFile: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const keyFile = join(dir, 'master.key');
  writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  return { dir, keyFile };
}

/** `ampule ARGV --data-dir DIR/data --master-key-file KEYFILE`, output captured line by line. */
export async function runCli(dir: string, keyFile: string, argv: readonly string[], env: Record<string, string> = {}): Promise<{ status: number; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const status = await main([...argv, '--data-dir', join(dir, 'data'), '--master-key-file', keyFile], { out: (l) => out.push(l), err: (l) => err.push(l), env });
  return { status, out, err };
}
