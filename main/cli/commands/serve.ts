// `ampule serve`: the HTTPS listener plus the admin channel, until SIGINT/SIGTERM. On a signal:
// stop accepting, finish in-flight requests, close the admin channel; the CLI then closes the
// appliance, flushing every store, and the process exits 0.
import { readFileSync } from 'node:fs';
import { UsageError, type Command } from '../command';
import { startHost } from '../../host/host';
import type { QueryLimits } from '../../http/query';
import { parseDuration } from '../../query/durations';
import { consoleStatus } from '../../console/credentials';
import { DEFAULT_PORT } from './status';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export const serve: Command = {
  path: ['serve'],
  summary: 'Serve remote write and the Prometheus HTTP API over HTTPS until interrupted.',
  usage: '[--host 127.0.0.1] [--port 9443] [--tls-cert FILE --tls-key FILE] [--passphrase-file FILE (opens a passphrase-sealed master key)] [--query.max-samples 50000000] [--query.timeout 2m]',
  options: {
    host: { type: 'string' },
    port: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'passphrase-file': { type: 'string' },
    'query.max-samples': { type: 'string' },
    'query.timeout': { type: 'string' },
  },
  forwardToServer: false, // it is the server
  async run(args, ctx) {
    const port = args.values.port === undefined ? DEFAULT_PORT : Number(args.values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be a port number (0-65535; 0 picks a free one)');
    const certFile = args.values['tls-cert'];
    const keyFile = args.values['tls-key'];
    if ((typeof certFile === 'string') !== (typeof keyFile === 'string')) throw new UsageError('--tls-cert and --tls-key go together');
    const host = typeof args.values.host === 'string' ? args.values.host : '127.0.0.1';
    const tls = typeof certFile === 'string' && typeof keyFile === 'string' ? { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') } : undefined;

    const queryLimits = queryLimitsOf(args.values);
    const appliance = await ctx.appliance({ create: true });
    const running = await startHost(appliance, { listen: { host, port, ...(tls ? { tls } : {}), queryLimits, log: ctx.err }, webConsole: true, commands: ctx.runCommand });
    const server = running.server!;
    if (!tls && !LOOPBACK.has(host)) {
      ctx.err(`ampule serve: the local CA's certificate names only localhost, 127.0.0.1 and ::1; clients reaching ${host} by another name need --tls-cert/--tls-key`);
    }
    ctx.out(
      `ampule serve: listening on ${server.url} (data dir ${appliance.dataDir}; ` +
        (server.caFingerprint ? `CA SHA-256 ${server.caFingerprint}` : 'user-supplied certificate') +
        ')',
    );
    const consoleState = consoleStatus(appliance.dataDir);
    ctx.out(
      `ampule serve: web console at ${server.url}/console/` +
        (consoleState.passwordSet ? '' : ' (no password yet: run `ampule console set-password`, then `ampule console mfa enable`)'),
    );

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    ctx.err(`ampule serve: ${signal}: finishing in-flight requests, then closing the stores`);
    await running.close();
    return 0;
  },
};

/** Prometheus's flags of the same names: most samples one query may hold, and its timeout. */
function queryLimitsOf(values: Record<string, unknown>): QueryLimits {
  const limits: { maxSamples?: number; timeoutMs?: number } = {};
  const samples = values['query.max-samples'];
  if (typeof samples === 'string') {
    const n = Number(samples);
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--query.max-samples must be a positive whole number, got ${samples}`);
    limits.maxSamples = n;
  }
  const timeout = values['query.timeout'];
  if (typeof timeout === 'string') {
    const ms = parseDuration(timeout);
    if (ms === null || ms <= 0) throw new UsageError(`--query.timeout must be a duration such as 2m or 30s, got ${timeout}`);
    limits.timeoutMs = ms;
  }
  return limits;
}
