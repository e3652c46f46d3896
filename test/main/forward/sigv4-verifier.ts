// An independent SigV4 verifier for tests: recomputes the canonical request, the string to sign
// and the HMAC key chain with node:crypto from what arrived, as AWS's documentation describes,
// and compares signatures in constant time. Written without looking at the signer's code.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface ArrivedRequest {
  method: string;
  /** Path and query as sent on the request line. */
  target: string;
  /** Raw header pairs in arrival order (node's rawHeaders, paired). */
  headers: [string, string][];
  body: Buffer | string;
}

export interface Verification {
  ok: boolean;
  why?: string;
  canonicalRequest?: string;
  stringToSign?: string;
  accessKeyId?: string;
}

const sha256hex = (d: Buffer | string): string => createHash('sha256').update(d).digest('hex');
const hmac = (key: Buffer | string, d: string): Buffer => createHmac('sha256', key).update(d, 'utf8').digest();

/** RFC 3986 encoding: everything but unreserved characters as %XX (upper case). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function canonicalRequest(req: ArrivedRequest, signedHeaders: string[]): string {
  const q = req.target.indexOf('?');
  const path = q < 0 ? req.target : req.target.slice(0, q);
  const query = q < 0 ? '' : req.target.slice(q + 1);
  // Non-S3 services encode the path as it was sent once more (so %20 becomes %2520).
  const canonicalPath = path.split('/').map(uriEncode).join('/');
  const pairs = query === '' ? [] : query.split('&').map((p) => {
    const eq = p.indexOf('=');
    const k = decodeURIComponent((eq < 0 ? p : p.slice(0, eq)).replace(/\+/g, ' '));
    const v = eq < 0 ? '' : decodeURIComponent(p.slice(eq + 1).replace(/\+/g, ' '));
    return [uriEncode(k), uriEncode(v)] as const;
  });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const values = new Map<string, string[]>();
  for (const [name, value] of req.headers) {
    const n = name.toLowerCase();
    values.set(n, [...(values.get(n) ?? []), value.trim().replace(/\s+/g, ' ')]);
  }
  const headerLines = signedHeaders.map((h) => `${h}:${(values.get(h) ?? []).join(',')}\n`).join('');
  return [req.method, canonicalPath, pairs.map(([k, v]) => `${k}=${v}`).join('&'), headerLines, signedHeaders.join(';'), sha256hex(req.body)].join('\n');
}

export function verifySigV4(req: ArrivedRequest, secretFor: (accessKeyId: string) => string | undefined, region: string, service: string): Verification {
  const auth = req.headers.find(([n]) => n.toLowerCase() === 'authorization')?.[1];
  if (!auth) return { ok: false, why: 'no Authorization header' };
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return { ok: false, why: 'malformed Authorization header' };
  const [, accessKeyId, day, r, s, signedList, signature] = m as unknown as string[];
  if (r !== region || s !== service) return { ok: false, why: `scope ${r}/${s}, expected ${region}/${service}` };
  const amzDate = req.headers.find(([n]) => n.toLowerCase() === 'x-amz-date')?.[1];
  if (!amzDate || !amzDate.startsWith(day!)) return { ok: false, why: 'x-amz-date missing or not the credential day' };
  const signed = signedList!.split(';');
  if (!signed.includes('host') || !signed.includes('x-amz-date')) return { ok: false, why: 'host and x-amz-date must be signed' };
  const secret = secretFor(accessKeyId!);
  if (secret === undefined) return { ok: false, why: 'unknown access key' };
  const creq = canonicalRequest(req, signed);
  const scope = `${day}/${region}/${service}/aws4_request`;
  const sts = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256hex(creq)}`;
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day!), region), service), 'aws4_request');
  const expected = createHmac('sha256', key).update(sts, 'utf8').digest();
  const got = Buffer.from(signature!, 'hex');
  const ok = got.length === expected.length && timingSafeEqual(got, expected);
  return { ok, why: ok ? undefined : 'signature does not match', canonicalRequest: creq, stringToSign: sts, accessKeyId };
}
