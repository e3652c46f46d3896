// Prometheus API answers compressed for clients that ask, as Prometheus compresses its API (gzip
// or deflate, whichever the client's Accept-Encoding names first). A query thread compresses its
// own answer, inside its query slot: libuv's thread pool, the other place off the ingest thread,
// runs the log's fsyncs, which remote writes wait for (where no query thread runs, the ingest
// thread that answered compresses too). Only query answers are compressed: they carry no secret
// for a BREACH-style guess to recover.
import type { ServerResponse } from 'node:http';
import { constants, deflateSync, gzipSync } from 'node:zlib';
import { sendJsonBytes } from './errors';

export type AnswerEncoding = 'gzip' | 'deflate';

/** An answer's bytes as they go on the wire: its JSON, coded by `encoding` when that is set. */
export interface EncodedAnswer {
  readonly body: Uint8Array;
  readonly encoding: AnswerEncoding | null;
}

/** Smaller answers go as they are: the saving would not pay for the work. */
export const MIN_COMPRESSED_BYTES = 1024;

/** Fastest level: ~1.1 ms a MB of a listing's JSON in a script, where the default (6) took 3.6 ms for 7 % fewer bytes. */
const LEVEL = { level: constants.Z_BEST_SPEED };

/** The client's first acceptable encoding among ours, honouring `;q=0` as a refusal (RFC 9110 §12.5.3). */
export function acceptedEncoding(header: string | string[] | undefined): AnswerEncoding | null {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const item of text.split(',')) {
    const [token, ...params] = item.split(';').map((s) => s.trim().toLowerCase());
    if (token !== 'gzip' && token !== 'deflate') continue;
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    return token;
  }
  return null;
}

/** `json` compressed by `encoding` (null: as it is), unless it is too small to be worth it. */
export function encodeAnswer(json: Uint8Array, encoding: AnswerEncoding | null): EncodedAnswer {
  if (encoding === null || json.byteLength < MIN_COMPRESSED_BYTES) return { body: json, encoding: null };
  return { body: (encoding === 'gzip' ? gzipSync : deflateSync)(json, LEVEL), encoding };
}

/** Sends an encoded answer; Vary tells caches the bytes depend on Accept-Encoding. */
export function sendApiAnswer(res: ServerResponse, status: number, answer: EncodedAnswer): void {
  sendJsonBytes(res, status, answer.body, answer.encoding ? { 'Content-Encoding': answer.encoding, Vary: 'Accept-Encoding' } : { Vary: 'Accept-Encoding' });
}
