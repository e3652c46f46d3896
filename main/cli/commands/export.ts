// `ampule export --workspace WS`: the way out. Streams a workspace's series as OpenMetrics text (to
// stdout or a new 0600 file) or sends them to a remote-write receiver, with progress on stderr.
import { closeSync, constants, createWriteStream, openSync, readFileSync, unlinkSync, type WriteStream } from 'node:fs';
import { CliError, UsageError, type CliContext, type Command, type DataOut } from '../command';
import { existingWorkspace } from './workspace-option';
import { readSecretFile } from './secret-input';
import { DeleteRequestError, MAX_TIME, MIN_TIME, parseSeriesSelector, parseTimeParam } from '../../retention/delete-series';
import { ExportAborted, OpenMetricsTarget, runExport, type ExportResult, type ExportTarget } from '../../export/export';
import { ReceiverError, RemoteWriteTarget } from '../../export/remote-write';
import { lineProgress, terminalProgress, type ProgressView } from '../../export/progress';
import type { SenderAuth } from '../../forward/sender';
import type { Matcher } from '../../tsdb/types';
import { JSON_OPTION, wantsJson, printJson } from './output';

const ALL_SERIES = '{__name__=~".+"}';

const USAGE = [
  '--workspace ID [--match SELECTOR]… [--start T] [--end T] [--format openmetrics|remote-write]',
  '[--output FILE [--force] | --url URL [--rw2] [--ca FILE]',
  '[--bearer-token-file F | --basic-auth-user U --basic-auth-password-file F] [--org-id TENANT]] [--json]',
  '(T: RFC 3339 or Unix seconds; default everything stored, as OpenMetrics text on stdout.',
  'The export is plaintext: whoever can read the file or the stream reads your metrics.',
  'Credentials come from files or AMPULE_EXPORT_BEARER_TOKEN / AMPULE_EXPORT_PASSWORD, never the command line.)',
].join('\n      ');

function selectors(v: unknown): Matcher[][] {
  const list = v === undefined ? [] : Array.isArray(v) ? (v as string[]) : [String(v)];
  return (list.length === 0 ? [ALL_SERIES] : list).map((s) => {
    try {
      return parseSeriesSelector(s);
    } catch (e) {
      if (e instanceof DeleteRequestError) throw new UsageError(e.message);
      throw e;
    }
  });
}

function timeRange(values: Record<string, unknown>): { mint: number; maxt: number } {
  try {
    const mint = parseTimeParam(values.start as string | undefined, 'start', MIN_TIME);
    const maxt = parseTimeParam(values.end as string | undefined, 'end', MAX_TIME);
    if (maxt < mint) throw new UsageError('--end must not be before --start');
    return { mint, maxt };
  } catch (e) {
    if (e instanceof DeleteRequestError) throw new UsageError(e.message.replace(/parameter "(\w+)"/, '--$1'));
    throw e;
  }
}

/** A new file only this user can read; an existing one is replaced only with --force. */
function openOutput(path: string, force: boolean): { sink: DataOut; finish(): Promise<void>; discard(): void } {
  let fd: number;
  try {
    if (force) {
      try {
        unlinkSync(path); // a fresh inode: never write through someone else's file or symlink
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CliError(`${path} already exists; add --force to replace it`);
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw new CliError(`cannot write ${path}: permission denied`);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CliError(`cannot write ${path}: its folder does not exist`);
    if (code === 'EISDIR') throw new CliError(`cannot write ${path}: it is a folder`);
    throw new CliError(`cannot write ${path}: ${(e as Error).message}`);
  }
  const stream: WriteStream = createWriteStream('', { fd, autoClose: true });
  let failed: Error | null = null;
  stream.on('error', (e) => (failed = e));
  return {
    sink: {
      write: (chunk) =>
        new Promise<void>((resolve, reject) => {
          if (failed) return reject(failed);
          if (stream.write(chunk)) resolve();
          else stream.once('drain', () => (failed ? reject(failed) : resolve()));
        }),
    },
    finish: () =>
      new Promise<void>((resolve, reject) => {
        stream.end(() => (failed ? reject(failed) : resolve()));
      }),
    discard() {
      stream.destroy();
      try {
        unlinkSync(path);
      } catch {
        /* already gone */
      }
      try {
        closeSync(fd);
      } catch {
        /* closed with the stream */
      }
    },
  };
}

function remoteWriteAuth(values: Record<string, unknown>, ctx: CliContext): SenderAuth {
  const tokenFile = values['bearer-token-file'];
  const user = values['basic-auth-user'];
  const passwordFile = values['basic-auth-password-file'];
  if (typeof tokenFile === 'string' && typeof user === 'string') throw new UsageError('give either a bearer token or basic auth, not both');
  if (typeof tokenFile === 'string') return { kind: 'bearer', token: readSecret(ctx.path(tokenFile), 'bearer token') };
  if (typeof user === 'string') {
    const password = typeof passwordFile === 'string' ? readSecret(ctx.path(passwordFile), 'password') : ctx.env.AMPULE_EXPORT_PASSWORD;
    if (!password) throw new UsageError('--basic-auth-user needs --basic-auth-password-file F or AMPULE_EXPORT_PASSWORD');
    return { kind: 'basic', username: user, password };
  }
  if (typeof passwordFile === 'string') throw new UsageError('--basic-auth-password-file needs --basic-auth-user');
  if (ctx.env.AMPULE_EXPORT_BEARER_TOKEN) return { kind: 'bearer', token: ctx.env.AMPULE_EXPORT_BEARER_TOKEN };
  return { kind: 'none' };
}

function readSecret(path: string, what: string): string {
  let s: string;
  try {
    s = readSecretFile(path);
  } catch (e) {
    throw new CliError(`cannot read the ${what} file ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (s === '') throw new CliError(`the ${what} file ${path} is empty`);
  return s;
}

function receiverUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url ${JSON.stringify(text.slice(0, 200))} is not a URL`);
  }
  if (url.username || url.password) throw new UsageError('--url must not hold credentials (user:password@): use --basic-auth-user with --basic-auth-password-file, or a bearer token file');
  if (url.protocol !== 'https:') throw new UsageError('--url must be https:// (exported data is sent over TLS only)');
  if (url.search) throw new UsageError('--url must not have a query string (a place secrets leak from); use --bearer-token-file or basic auth');
  return url;
}

export const exportCommand: Command = {
  path: ['export'],
  summary:
    'Export a workspace\'s series (the way out when you migrate): OpenMetrics text (loadable by `promtool tsdb create-blocks-from openmetrics`) to stdout or a new 0600 file, or remote write to a receiver. The export is NOT encrypted.',
  usage: USAGE,
  streams: true,
  options: {
    workspace: { type: 'string' },
    format: { type: 'string' },
    output: { type: 'string', short: 'o' },
    force: { type: 'boolean' },
    url: { type: 'string' },
    rw2: { type: 'boolean' },
    ca: { type: 'string' },
    'bearer-token-file': { type: 'string' },
    'basic-auth-user': { type: 'string' },
    'basic-auth-password-file': { type: 'string' },
    'org-id': { type: 'string' },
    start: { type: 'string' },
    end: { type: 'string' },
    match: { type: 'string', multiple: true },
    ...JSON_OPTION,
  },
  async run(args, ctx) {
    const v = args.values;
    const format = typeof v.format === 'string' ? v.format : typeof v.url === 'string' ? 'remote-write' : 'openmetrics';
    if (format !== 'openmetrics' && format !== 'remote-write') throw new UsageError(`--format must be openmetrics or remote-write, not ${JSON.stringify(format)}`);
    if (format === 'remote-write' && typeof v.url !== 'string') throw new UsageError('--format remote-write needs --url https://…/api/v1/write');
    if (format === 'openmetrics' && typeof v.url === 'string') throw new UsageError('--url sends remote write; it does not go with --format openmetrics');
    if (typeof v.url === 'string' && typeof v.output === 'string') throw new UsageError('give --output FILE or --url URL, not both');
    for (const o of ['rw2', 'ca', 'bearer-token-file', 'basic-auth-user', 'basic-auth-password-file', 'org-id'])
      if (v[o] !== undefined && format !== 'remote-write') throw new UsageError(`--${o} goes with --url (remote write)`);
    if (v.force === true && typeof v.output !== 'string') throw new UsageError('--force goes with --output FILE');
    const sets = selectors(v.match);
    const { mint, maxt } = timeRange(v);
    if (format === 'openmetrics' && typeof v.output !== 'string' && !ctx.stdout)
      throw new UsageError(`ampule serve runs on ${ctx.dataDir} and writes the export itself: give --output FILE (or --url URL)`);

    // Everything the user typed is checked before the store is opened or a file is made.
    let target: ExportTarget;
    let output: ReturnType<typeof openOutput> | null = null;
    let remote: RemoteWriteTarget | null = null;
    let auth: SenderAuth | null = null;
    let url: URL | null = null;
    let ca: string | undefined;
    if (format === 'remote-write') {
      url = receiverUrl(v.url as string);
      auth = remoteWriteAuth(v, ctx);
      if (typeof v.ca === 'string') {
        try {
          ca = readFileSync(ctx.path(v.ca), 'utf8');
        } catch (e) {
          throw new CliError(`cannot read the CA file ${ctx.path(v.ca)}: ${(e as Error).message}`);
        }
      }
    }
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    const store = appliance.store(workspaceId);
    const tenant = appliance.tenant(workspaceId);
    const metadata = (metric: string) => tenant.metadata.entries(metric)[0]?.[1].at(-1);
    const abort = new AbortController();
    if (format === 'remote-write') {
      remote = new RemoteWriteTarget({
        signal: abort.signal,
        url: url!,
        message: v.rw2 === true ? 'io.prometheus.write.v2.Request' : 'prometheus.WriteRequest',
        auth: auth!,
        ...(typeof v['org-id'] === 'string' ? { orgId: v['org-id'] } : {}),
        ...(ca ? { ca } : {}),
      });
      target = remote;
    } else {
      if (typeof v.output === 'string') output = openOutput(ctx.path(v.output), v.force === true);
      target = new OpenMetricsTarget(output ? output.sink : ctx.stdout!, metadata);
    }
    const view: ProgressView | null = wantsJson(args) && !output && !remote ? null : ctx.terminal ? terminalProgress(ctx.terminal) : lineProgress(ctx.err);
    const onSignal = (): void => abort.abort();
    if (!ctx.inServer) process.once('SIGINT', onSignal);
    ctx.signal?.addEventListener('abort', onSignal, { once: true });
    let result: ExportResult;
    const started = Date.now();
    try {
      result = await runExport({ querier: store.querier(), metadata }, target, { selectors: sets, mint, maxt, signal: abort.signal, onProgress: (p) => view?.update(p) });
      await output?.finish();
    } catch (e) {
      output?.discard();
      remote?.close();
      ctx.terminal?.redraw('');
      const partial = output ? ' (the partial file was removed)' : '';
      if (e instanceof ReceiverError) throw new CliError(`${e.message}${partial}`);
      if (e instanceof ExportAborted) throw new CliError(`interrupted${partial}`);
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') return 1;
      if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw new CliError(`the disk is full${partial}`);
      throw e;
    } finally {
      process.off('SIGINT', onSignal);
      ctx.signal?.removeEventListener('abort', onSignal);
    }
    view?.done(result);
    const secs = (Date.now() - started) / 1000;
    const where = output ? ctx.path(v.output as string) : remote ? url!.host : 'stdout';
    const summary = {
      workspaceId,
      format,
      to: where,
      series: result.seriesDone,
      samples: result.samples - result.staleMarkersSkipped,
      staleMarkersSkipped: result.staleMarkersSkipped,
      histogramSamplesSkipped: result.histogramSamplesSkipped,
      seriesSkipped: result.seriesSkipped,
      seconds: Number(secs.toFixed(3)),
      ...(remote ? { requests: remote.requests, bytesSent: remote.bytes } : {}),
    };
    if (wantsJson(args) && (output || remote)) printJson(ctx, summary);
    else {
      const notes = [
        result.staleMarkersSkipped ? `${result.staleMarkersSkipped} stale markers left out (OpenMetrics has no way to say a series ended)` : '',
        result.histogramSamplesSkipped ? `${result.histogramSamplesSkipped} native-histogram samples left out (not exported yet)` : '',
        result.seriesSkipped ? `${result.seriesSkipped} series with UTF-8 names left out (OpenMetrics 1.0 cannot spell them)` : '',
      ].filter((s) => s !== '');
      ctx.err(`export: ${summary.series} series, ${summary.samples} samples of ${workspaceId} to ${where} in ${secs.toFixed(1)} s${notes.length ? `; ${notes.join('; ')}` : ''}`);
      if (output) ctx.err(`export: ${where} is plaintext (mode 0600): keep it as safe as the data in it`);
    }
    return 0;
  },
};
