// Turns a validated destination into a sender: resolves SigV4 credentials from their source.
import { resolveAws } from './aws-credentials';
import type { Destination } from './destination';
import { RemoteWriteSender, type SenderAuth } from './sender';
import { SigV4Signer } from './sigv4';

export function senderFor(d: Destination, env: Record<string, string | undefined> = process.env): RemoteWriteSender {
  let auth: SenderAuth;
  const a = d.auth;
  if (a.kind === 'sigv4') {
    const aws = resolveAws({ accessKey: a.accessKey, secretKey: a.secretKey, profile: a.profile, region: a.region }, env);
    auth = { kind: 'sigv4', signer: new SigV4Signer(aws.credentials, aws.region) };
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
