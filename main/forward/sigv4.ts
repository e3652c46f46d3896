// SigV4 signing of remote-write requests with the AWS SDK's own signer (@smithy/signature-v4),
// SHA-256 from @aws-crypto/sha256-js as its documentation shows. AMP's service name is "aps".
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentials } from './aws-credentials';

export const AMP_SERVICE = 'aps';

export interface SignableRequest {
  method: string;
  url: URL;
  /** Header names as they will be sent; `host` is added. */
  headers: Record<string, string>;
  body: Uint8Array | string;
}

export class SigV4Signer {
  private readonly signer: SignatureV4;

  /** `credentials` may be a provider, called for each request (it caches as it sees fit). */
  constructor(credentials: AwsCredentials | (() => Promise<AwsCredentials>), region: string, service = AMP_SERVICE) {
    // No X-Amz-Content-Sha256 header (applyChecksum off): the payload hash is inside the signature
    // anyway, and this is how Prometheus's own sigv4 round tripper signs.
    this.signer = new SignatureV4({ credentials, region, service, sha256: Sha256, applyChecksum: false });
  }

  /** The headers to send: the given ones plus host, x-amz-date, x-amz-security-token, authorization. */
  async sign(req: SignableRequest, at: Date = new Date()): Promise<Record<string, string>> {
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of req.url.searchParams) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const signed = await this.signer.sign(
      {
        method: req.method,
        protocol: req.url.protocol,
        hostname: req.url.hostname,
        port: req.url.port ? Number(req.url.port) : undefined,
        path: req.url.pathname,
        query,
        headers: { ...req.headers, host: req.url.host },
        body: req.body,
      },
      { signingDate: at },
    );
    return signed.headers as Record<string, string>;
  }
}
