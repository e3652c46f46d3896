// The app:// protocol handler: serves the bundled renderer (dist/renderer) with the strict
// security headers on every response, refusing anything outside that folder. Returns a standard
// Fetch Response, so it runs (and is tested) in plain Node as well as in protocol.handle.
import { readFile } from 'node:fs/promises';
import { RESPONSE_HEADERS, contentTypeFor, resolveAppPath } from './security';

function plain(status: number, text: string): Response {
  return new Response(text, { status, headers: { ...RESPONSE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' } });
}

export async function serveAppRequest(rendererRoot: string, request: { url: string; method: string }): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return plain(405, 'Method Not Allowed');
  const file = resolveAppPath(rendererRoot, request.url);
  if (!file) return plain(404, 'Not Found');
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    return plain(404, 'Not Found');
  }
  const headers = { ...RESPONSE_HEADERS, 'Content-Type': contentTypeFor(file)! };
  return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers });
}
