// `ampule cert issue`: a client certificate for mutual TLS, bound to one workspace and accepted in
// place of a token for its remote_write and query routes. Its key is written once, for the user.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, type Command } from '../command';
import { fingerprintSha256, pkcs8ToPem } from '../../tls/certificates';
import { LocalCa } from '../../tls/local-ca';
import { existingWorkspace } from './workspace-option';

export const certIssue: Command = {
  path: ['cert', 'issue'],
  summary: 'Issue a client certificate for mutual TLS, bound to one workspace (remote_write and query).',
  usage: '--workspace ID [--out-dir DIR]',
  options: { workspace: { type: 'string' }, 'out-dir': { type: 'string' } },
  async run(args, ctx) {
    const { workspaceId, appliance } = await existingWorkspace(args, ctx); // not_found before anything is issued
    const outDir = ctx.path(typeof args.values['out-dir'] === 'string' ? args.values['out-dir'] : '.');
    const ca = new LocalCa(appliance.dataDir, appliance.tlsKeys);
    const issued = await ca.issueClient(workspaceId, new Date());
    mkdirSync(outDir, { recursive: true });
    const certFile = join(outDir, `${workspaceId}.crt`);
    const keyFile = join(outDir, `${workspaceId}.key`);
    if (existsSync(keyFile) || existsSync(certFile)) throw new UsageError(`${keyFile} or ${certFile} already exists: remove them or choose another --out-dir`);
    writeFileSync(keyFile, pkcs8ToPem(issued.keyPkcs8), { mode: 0o600, flag: 'wx' });
    writeFileSync(certFile, issued.certPem, { mode: 0o644, flag: 'wx' });
    ctx.out(certFile);
    ctx.out(keyFile);
    ctx.err(`Client certificate for ${workspaceId} (SHA-256 ${fingerprintSha256(issued.certPem)}). The key is not kept anywhere else: protect ${keyFile}.`);
    ctx.err(`Prometheus: tls_config: {ca_file: <ampule ca export>, cert_file: ${certFile}, key_file: ${keyFile}}`);
    return 0;
  },
};
