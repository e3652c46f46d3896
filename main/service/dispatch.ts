// The one generic adapter every transport uses: checks the method name and validates the
// arguments against API_SPEC, calls the service, and turns any failure into an ApiErrorData the
// other side can act on. Electron IPC and the HTTPS console both call only this.
import { API_SPEC, ApiError, isApiMethod, type AmpuleApi, type ApiErrorData, type ApiResult } from '../../shared/api';
import { checkArgs, ValidationError } from '../../shared/validate';
import { ControlError } from '../control/types';
import { KeyStoreError } from '../crypto/types';

export async function dispatch(api: AmpuleApi, method: string, args: unknown): Promise<ApiResult<unknown>> {
  try {
    if (!isApiMethod(method)) throw new ApiError('not_found', `unknown API method '${method.slice(0, 64)}'`);
    const checked = checkArgs(API_SPEC[method].args as never, args, method) as unknown[];
    const fn = api[method] as (...a: unknown[]) => Promise<unknown>;
    const value = await fn.apply(api, checked);
    return { ok: true, value: value === undefined ? null : value };
  } catch (e) {
    return { ok: false, error: toApiErrorData(e) };
  }
}

/** Maps the appliance's error types onto the contract's kinds; anything unknown is 'internal' without details. */
export function toApiErrorData(e: unknown): ApiErrorData {
  if (e instanceof ApiError) return e.toData();
  if (e instanceof ValidationError) return { kind: 'invalid', message: e.message, field: e.path };
  if (e instanceof ControlError) {
    const kind = e.kind === 'invalid' || e.kind === 'not_found' || e.kind === 'conflict' ? e.kind : 'unavailable';
    return { kind, message: e.message, ...(e.field ? { field: e.field } : {}) };
  }
  if (e instanceof KeyStoreError) return { kind: 'unavailable', message: e.message.split('\n')[0]!, advice: e.advice };
  // Unknown failures may carry customer data in their message: never echo it across the hop.
  return { kind: 'internal', message: 'internal error: the appliance failed to answer; see the server log' };
}

/** HTTP status for an error kind, for transports that speak HTTP. */
export function httpStatusOf(kind: ApiErrorData['kind']): number {
  switch (kind) {
    case 'invalid': return 400;
    case 'unauthorized': return 401;
    case 'forbidden': return 403;
    case 'not_found': return 404;
    case 'conflict': return 409;
    case 'rate_limited': return 429;
    case 'unavailable': return 503;
    case 'internal': return 500;
  }
}
