// JSON error responses in Prometheus's API shape ({status:"error", errorType, error}), used for
// every route so clients (Prometheus, Grafana, curl) always get a readable reason.
import type { ServerResponse } from 'node:http';

export type ErrorType = 'bad_data' | 'unauthorized' | 'forbidden' | 'not_found' | 'method_not_allowed' | 'too_large' | 'unsupported_media_type' | 'too_many_requests' | 'timeout' | 'internal' | 'unavailable' | 'execution';

const TYPE_BY_STATUS: Record<number, ErrorType> = {
  400: 'bad_data',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'timeout',
  413: 'too_large',
  415: 'unsupported_media_type',
  422: 'execution',
  429: 'too_many_requests',
  503: 'unavailable',
};

/** A request refused with a status the client can act on. Its message goes to the client, never to logs. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
    /** Close the connection after answering (the body was not read). */
    readonly closeConnection = false,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  sendJsonBytes(res, status, JSON.stringify(body), headers);
}

/** Sends JSON already encoded (a query worker's answer) or as a string. */
export function sendJsonBytes(res: ServerResponse, status: number, json: Uint8Array | string, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': typeof json === 'string' ? Buffer.byteLength(json) : json.byteLength,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(json);
}

export function sendError(res: ServerResponse, status: number, message: string, headers: Readonly<Record<string, string>> = {}, closeConnection = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (closeConnection) res.shouldKeepAlive = false;
  sendJson(res, status, { status: 'error', errorType: TYPE_BY_STATUS[status] ?? 'internal', error: message }, closeConnection ? { ...headers, Connection: 'close' } : headers);
}
