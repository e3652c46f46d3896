// A workspace for a real Prometheus to remote-write into, made through the CLI as a user would:
// the workspace, a remote_write+query token in a 0600 credentials file, and the exported CA.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli } from '../main/http/cli-process';

export interface SenderWorkspace {
  readonly ws: string;
  readonly token: string;
  /** For prometheus.yml's `authorization.credentials_file`. */
  readonly credentials: string;
  /** For prometheus.yml's `tls_config.ca_file`. */
  readonly caFile: string;
}

export async function senderWorkspace(work: string, dataDir: string, env: NodeJS.ProcessEnv, alias: string): Promise<SenderWorkspace> {
  const created = await runCli(['workspace', 'create', '--data-dir', dataDir, '--alias', alias, '--json'], env);
  expect(created.status).toBe(0);
  const ws = JSON.parse(created.stdout).workspaceId as string;
  const tok = await runCli(['token', 'create', '--data-dir', dataDir, '--workspace', ws, '--scope', 'remote_write,query', '--json'], env);
  expect(tok.status).toBe(0);
  const token = JSON.parse(tok.stdout).token as string;
  const credentials = join(work, 'ampule-token');
  writeFileSync(credentials, token + '\n', { mode: 0o600 });
  const caFile = join(work, 'ca.pem');
  expect((await runCli(['ca', 'export', '--data-dir', dataDir, '--out', caFile], env)).status).toBe(0);
  return { ws, token, credentials, caFile };
}
