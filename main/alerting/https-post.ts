// One JSON POST over TLS (1.2 minimum) to a notification target: its own CA added to the system
// roots, credentials in the Authorization header only, a deadline, no redirects followed. Errors
// name the URL and the status or network cause, never a header.
import { request } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { Credentials, Target } from './definition';

/** A failed delivery; `retry` false means sending the same body again cannot succeed (a 4xx). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

const MAX_ERROR_BODY = 512;

function authorization(c: Credentials | null): Record<string, string> {
  if (!c) return {};
  if (c.kind === 'basic') return { authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` };
  return { authorization: `Bearer ${c.token}` };
}

/** POSTs `body` as JSON to `url`; resolves on 2xx, rejects with DeliveryError otherwise. */
export function postJson(target: Target, url: string, body: unknown, userAgent = 'Ampule'): Promise<void> {
  const data = Buffer.from(JSON.stringify(body), 'utf8');
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(data.length), 'user-agent': userAgent, ...authorization(target.credentials) },
        ca: target.ca ? [...rootCertificates, target.ca] : undefined,
        minVersion: 'TLSv1.2',
        timeout: target.timeoutMs,
        agent: false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_ERROR_BODY) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => {
          if (status >= 200 && status < 300) return resolve();
          // eslint-disable-next-line no-control-regex
          const text = Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY).replace(/[\u0000-\u001f]+/g, ' ').trim();
          // 408 and 429 are worth another try; any other 4xx would be refused again the same way.
          const retry = status >= 500 || status === 408 || status === 429 || status < 200 || (status >= 300 && status < 400) || status === 401 || status === 403;
          reject(new DeliveryError(`${url}: HTTP ${status}${text ? `: ${text}` : ''}`, retry));
        });
        res.on('error', (e) => reject(new DeliveryError(`${url}: ${e.message}`, true)));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${target.timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => reject(new DeliveryError(`${url}: ${e.code && !e.message.includes(e.code) ? `${e.code} ` : ''}${e.message}`, true)));
    req.end(data);
  });
}
