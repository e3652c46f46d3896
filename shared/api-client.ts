// Turns any transport that answers envelopes (the Electron preload's bridge, the console's HTTPS
// RPC) into a typed AmpuleApi whose failures are thrown as ApiError.
import { API_METHODS, ApiError, type AmpuleApi, type ApiMethod, type ApiResult } from './api';

export type Transport = (method: ApiMethod, args: readonly unknown[]) => Promise<ApiResult<unknown>>;

export function createApiClient(transport: Transport): AmpuleApi {
  const client: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const method of API_METHODS) {
    client[method] = async (...args: unknown[]) => {
      const result = await transport(method, args);
      if (result.ok) return result.value;
      const e = result.error;
      throw new ApiError(e.kind, e.message, e.field, e.advice);
    };
  }
  return Object.freeze(client) as unknown as AmpuleApi;
}
