// What other parts of the appliance plug into the HTTPS listener with. A mounted handler owns
// every request whose path starts with its prefix (e.g. the web console under /console/); it does
// its own authentication and must answer the request. The listener has already enforced TLS and
// the header timeouts; read bodies with readBody() from ./body so size limits hold while streaming.
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Handles one request. `subpath` is the URL path after the mount prefix, starting with '/'
 * (query string excluded; it is still in req.url). A throw becomes a JSON 500 if nothing was sent.
 */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse, subpath: string) => void | Promise<void>;

export interface Mountable {
  /** Routes every path under `prefix` (e.g. '/console') to `handler`. Later mounts win on equal prefixes. */
  mount(prefix: string, handler: HttpHandler): void;
}

/** A running server, as returned by startServer(). */
export interface ServerHandle extends Mountable {
  readonly port: number;
  /** e.g. https://localhost:9443 */
  readonly url: string;
  /** SHA-256 fingerprint of the CA that signed the server certificate (colon-separated hex), or null for a user-supplied certificate. */
  readonly caFingerprint: string | null;
  /** Stops accepting, waits for in-flight requests, then resolves. Does not close the appliance. */
  close(): Promise<void>;
}
