// Turns a validated destination into a sender: resolves SigV4 credentials from their source, and
// again every few minutes, so rotated keys and renewed session tokens are picked up.
import { resolveAws } from './aws-credentials';
import type { Destination } from './destination';
import { RemoteWriteSender, type SenderAuth } from './sender';
import { SigV4Signer } from './sigv4';

const CREDENTIALS_REFRESH_MS = 5 * 60_000;

export function senderFor(d: Destination, env: Record<string, string | undefined> = process.env): RemoteWriteSender {
  let auth: SenderAuth;
  const a = d.auth;
  if (a.kind === 'sigv4') {
    const source = { accessKey: a.accessKey, secretKey: a.secretKey, profile: a.profile, region: a.region };
    let aws = resolveAws(source, env); // errors (no credentials, no region) surface when the destination is set up
    let resolvedAt = Date.now();
    const provider = async () => {
      if (Date.now() - resolvedAt > CREDENTIALS_REFRESH_MS) {
        try {
          aws = resolveAws(source, env);
          resolvedAt = Date.now();
        } catch {
          /* keep the last good credentials; a 403 then shows in the destination's last error */
        }
      }
      return aws.credentials;
    };
    auth = { kind: 'sigv4', signer: new SigV4Signer(provider, aws.region) };
  } else auth = a;
  return new RemoteWriteSender({
    url: d.url,
    message: d.protobufMessage,
    auth,
    headers: d.headers,
    ...(d.ca === undefined ? {} : { ca: d.ca }),
    timeoutMs: d.remoteTimeoutMs,
    minBackoffMs: d.queue.minBackoffMs,
    maxBackoffMs: d.queue.maxBackoffMs,
    retryOn429: d.queue.retryOnHttp429,
    maxConnections: d.queue.maxShards,
  });
}
