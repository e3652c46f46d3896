// Reads a request body with its size limit enforced before and while streaming: a declared
// Content-Length over the limit is refused at once without reading a byte, and a body that grows
// past the limit is cut off as soon as it does.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './errors';

function tooLarge(limit: number, limitName: string | undefined): HttpError {
  const what = limitName ? `the limit ${limitName}=${limit} bytes; send smaller batches (queue_config.max_samples_per_send) or raise the limit` : `the limit of ${limit} bytes`;
  return new HttpError(413, `request body exceeds ${what}`, {}, true);
}

/**
 * The body, or HttpError 413 (closing the connection) as soon as it is or would be over `limit`
 * bytes. `limitName` names a workspace limit the sender can have raised (e.g. maxBodyBytes).
 */
export function readBody(req: IncomingMessage, res: ServerResponse, limit: number, limitName?: string): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit, limitName);
  // Answer `Expect: 100-continue` only now that the request passed authentication and the size check.
  if (req.headers.expect?.toLowerCase() === '100-continue') res.writeContinue();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(tooLarge(limit, limitName));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const onAborted = () => {
      cleanup();
      reject(new HttpError(400, 'the client closed the connection before the body was complete', {}, true));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}
