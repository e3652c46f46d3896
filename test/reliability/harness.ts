// Shared by the reliability suite: full vs CI counts, a real `node bin/ampule.mjs serve` process,
// HTTPS calls to it, and the answers of a data directory to compare after damage or a crash.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Appliance } from '../../main/core/appliance';
import { StoreError } from '../../main/tsdb';
import { spawnServe, type ServeProcess } from '../serve-process';

/** `npm run soak` sets AMPULE_SOAK=1: the full counts. CI runs the short form. */
export const SOAK = process.env.AMPULE_SOAK === '1';
export const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'ampule.mjs');

/** A fresh folder with a 0600 master-key file (the headless way; no keychain needed) and the data directory path. */
export function keyFileDir(prefix: string): { dir: string; dataDir: string; keyFile: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const keyFile = join(dir, 'master.key');
  writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  return { dir, dataDir: join(dir, 'data'), keyFile };
}

export type Serve = ServeProcess;

/** Starts the built command (`node bin/ampule.mjs serve`, as a user runs it) and waits for its URL. */
export function startServe(dataDir: string, keyFile: string): Promise<Serve> {
  if (!existsSync(join(ROOT, 'dist', 'cli.mjs'))) throw new Error('dist/cli.mjs is missing: run `npm run build` first (npm test and npm run soak do)');
  return spawnServe([BIN, 'serve', '--data-dir', dataDir, '--master-key-file', keyFile, '--port', '0'], { cwd: ROOT });
}

export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
}

export function https(port: number, ca: string, agent: Agent | undefined, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: 'localhost', port, method, path, headers, ca, ...(agent ? { agent } : {}) }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** What a workspace answers: a digest of every series and sample (bit-exact), or the error. */
export type WorkspaceAnswer = { readonly digest: string; readonly series: number; readonly samples: number } | { readonly error: unknown };

export function workspaceAnswer(app: Appliance, workspaceId: string): WorkspaceAnswer {
  try {
    const all = app.store(workspaceId).querier().select([], -8.64e15, 8.64e15);
    const h = createHash('sha256');
    let samples = 0;
    for (const s of all) {
      h.update(JSON.stringify(s.labels));
      h.update(Buffer.from(s.timestamps.buffer, s.timestamps.byteOffset, s.timestamps.byteLength));
      h.update(Buffer.from(s.values.buffer, s.values.byteOffset, s.values.byteLength));
      samples += s.timestamps.length;
    }
    return { digest: h.digest('hex'), series: all.length, samples };
  } catch (e) {
    return { error: e };
  }
}

/** The control plane's answers: workspaces (ids, aliases, tags), tokens, and the activity log's chain check. */
export function controlAnswer(app: Appliance, tokens: readonly string[]): { text: string; named: string[] } {
  const named: string[] = [];
  const ws = app.control.listWorkspaces().map((w) => ({ id: w.workspaceId, alias: w.alias, tags: w.tags, status: w.status, tokens: app.control.listTokens(w.workspaceId).map((t) => ({ id: t.tokenId, name: t.name, scopes: t.scopes, revoked: t.revokedAt })) }));
  const verified = tokens.map((t) => {
    const v = app.control.verifyToken(t);
    return v && { ws: v.workspaceId, scopes: v.scopes };
  });
  const chain = app.activity.verify();
  if (!chain.ok) named.push(`activity log: ${chain.message}`);
  return { text: JSON.stringify({ ws, verified }), named };
}

/** A StoreError names its workspace and file by construction; other errors must name what broke. */
export function isNamed(e: unknown, workspaceId?: string): boolean {
  if (e instanceof StoreError) return workspaceId === undefined || e.workspaceId === workspaceId;
  const m = e instanceof Error ? `${e.name} ${e.message}` : String(e);
  return /control\.db|master key|key file|activity log|ws-[0-9a-f]|workspace|tls|certificate/i.test(m);
}
