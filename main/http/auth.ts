// Who is calling: a bearer token, basic auth (user = workspace id, password = token) or a client
// certificate from the local CA bound to one workspace. Unauthenticated callers learn nothing about
// which workspaces exist: every failure before authentication is the same 401.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ControlPlane, Scope } from '../control/types';
import { workspaceOfClientCertificate } from '../tls/certificates';
import { HttpError } from './errors';

export interface Principal {
  readonly workspaceId: string;
  readonly scopes: readonly Scope[];
  /** For the activity log: 'token:<tokenId>' or 'cert:<serial>'; never a secret. */
  readonly actor: string;
}

export type CredentialChecker = Pick<ControlPlane, 'verifyToken' | 'describeWorkspace'>;

const TOKEN_LIKE = /amp_[A-Za-z0-9]+_[A-Za-z0-9_-]{8,}/;
const CREDENTIAL_PARAMS = new Set(['access_token', 'token', 'auth', 'api_key', 'apikey', 'password', 'bearer', 'authorization']);
const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="ampule", Basic realm="ampule"' };

/** Refuses secrets in the URL (they end up in proxy logs, shell history and browser history). */
export function refuseCredentialsInUrl(rawUrl: string, url: URL): void {
  if (!rawUrl.startsWith('/')) {
    throw new HttpError(400, 'absolute-form request targets are not accepted' + (url.username || url.password ? ', and credentials never belong in a URL: send them in the Authorization header' : ''));
  }
  for (const [name, value] of url.searchParams) {
    if (CREDENTIAL_PARAMS.has(name.toLowerCase()) || TOKEN_LIKE.test(value)) {
      throw new HttpError(400, `credentials must not be sent in the URL (query parameter '${name}'): send the token in the Authorization header ("Authorization: Bearer <token>")`);
    }
  }
  if (TOKEN_LIKE.test(url.pathname)) throw new HttpError(400, 'credentials must not be sent in the URL path: send the token in the Authorization header');
}

/** Why authentication failed, for the activity log; 'token' failures are logged by the control plane itself. */
export type AuthFailureReason = 'missing' | 'malformed' | 'token' | 'certificate' | 'workspace' | 'scope';

export class AuthError extends HttpError {
  constructor(
    status: 401 | 403,
    message: string,
    readonly reason: AuthFailureReason,
  ) {
    super(status, message, status === 401 ? CHALLENGE : {});
    this.name = 'AuthError';
  }
}

function unauthorized(message: string, reason: AuthFailureReason): AuthError {
  return new AuthError(401, message, reason);
}

/**
 * The caller, or null when it presented no credentials. Throws 401 for credentials that are
 * wrong, expired, revoked or malformed (one message for all, so nothing is learned from it).
 */
export function authenticate(req: IncomingMessage, control: CredentialChecker): Principal | null {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const space = header.indexOf(' ');
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const rest = space < 0 ? '' : header.slice(space + 1).trim();
    let token: string;
    let basicUser: string | null = null;
    if (scheme === 'bearer') token = rest;
    else if (scheme === 'basic') {
      const decoded = Buffer.from(rest, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw unauthorized('malformed basic credentials: use the workspace id as user name and the token as password', 'malformed');
      basicUser = decoded.slice(0, colon);
      token = decoded.slice(colon + 1);
    } else throw unauthorized(`unsupported authorization scheme: use "Bearer <token>" or basic auth (workspace id, token)`, 'malformed');
    const verified = token ? control.verifyToken(token) : null;
    if (!verified) throw unauthorized('invalid, expired or revoked token', 'token');
    if (basicUser !== null && basicUser !== verified.workspaceId) {
      throw new AuthError(403, 'the basic-auth user name must be the workspace id the token belongs to', 'workspace');
    }
    return { workspaceId: verified.workspaceId, scopes: verified.scopes, actor: `token:${verified.tokenId}` };
  }
  const socket = req.socket as TLSSocket;
  if (socket.authorized) {
    const cert = socket.getPeerCertificate();
    const workspaceId = workspaceOfClientCertificate(cert.subjectaltname);
    if (!workspaceId) throw unauthorized('the client certificate is not bound to a workspace', 'certificate');
    try {
      control.describeWorkspace(workspaceId);
    } catch {
      throw unauthorized('the client certificate is not valid for any workspace', 'certificate');
    }
    return { workspaceId, scopes: ['remote_write', 'query'], actor: `cert:${cert.serialNumber}` };
  }
  return null;
}

/** Throws 401 without credentials, 403 when they belong to another workspace or lack the scope. */
export function authorize(principal: Principal | null, workspaceId: string | null, scope: Scope): Principal {
  if (!principal) throw unauthorized('authentication required: send "Authorization: Bearer <token>" (or basic auth: workspace id and token)', 'missing');
  if (workspaceId !== null && principal.workspaceId !== workspaceId) throw new AuthError(403, 'these credentials are not valid for this workspace', 'workspace');
  if (!principal.scopes.includes(scope)) throw new AuthError(403, `these credentials lack the '${scope}' scope`, 'scope');
  return principal;
}
