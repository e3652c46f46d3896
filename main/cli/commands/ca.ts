// `ampule ca export`: the local CA certificate that clients (Prometheus tls_config.ca_file,
// Grafana, curl --cacert) trust. Created on first use; public, so printing it is safe.
import { writeFileSync } from 'node:fs';
import type { Command } from '../command';
import { fingerprintSha256 } from '../../tls/certificates';
import { LocalCa, readCaCertPem } from '../../tls/local-ca';

export const caExport: Command = {
  path: ['ca', 'export'],
  summary: "Print (or write) the local CA certificate that signs the server's certificate.",
  usage: '[--out FILE]',
  options: { out: { type: 'string' } },
  async run(args, ctx) {
    let pem = readCaCertPem(ctx.dataDir);
    if (pem === null) {
      const appliance = await ctx.appliance();
      pem = (await new LocalCa(appliance.dataDir, appliance.tlsKeys).ensureCa(new Date())).certPem;
    }
    const out = args.values.out;
    if (typeof out === 'string') {
      const file = ctx.path(out);
      writeFileSync(file, pem, { mode: 0o644 });
      ctx.err(`Wrote the CA certificate to ${file} (SHA-256 ${fingerprintSha256(pem)}).`);
    } else pem.trimEnd().split('\n').forEach((l) => ctx.out(l));
    return 0;
  },
};
