// Serves the AmpuleApi contract over Electron IPC: one ipcMain.handle per method. Every call is
// checked in this order — sender frame, then arguments — before it is routed to the core worker.
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { API_METHODS, API_SPEC, type ApiMethod, type ApiResult } from '../../shared/api';
import { checkArgs, type ArgsValidator } from '../../shared/validate';
import { toApiErrorData } from '../service/dispatch';
import { ipcChannel } from './channels';
import { isTrustedSender, type IpcSenderInfo } from './security';

/** Where validated calls go (the core worker). */
export type ApiRoute = (method: ApiMethod, args: readonly unknown[]) => Promise<ApiResult<unknown>>;

const FORBIDDEN: ApiResult<never> = {
  ok: false,
  error: { kind: 'forbidden', message: 'This call did not come from the Ampule window.' },
};

/** The decision for one call, without Electron: sender, then arguments, then the route. */
export async function handleApiCall(
  method: ApiMethod,
  rawArgs: readonly unknown[],
  sender: IpcSenderInfo,
  trustedWebContentsId: number | null,
  route: ApiRoute,
): Promise<ApiResult<unknown>> {
  if (!isTrustedSender(sender, trustedWebContentsId)) return FORBIDDEN;
  let args: readonly unknown[];
  try {
    const spec = API_SPEC[method].args as ArgsValidator<readonly unknown[]>;
    args = checkArgs(spec, rawArgs, method);
  } catch (e) {
    return { ok: false, error: toApiErrorData(e) };
  }
  return route(method, args);
}

/** What an invoke event says about its sender; a destroyed frame has no URL. */
export function senderInfo(event: IpcMainInvokeEvent): IpcSenderInfo {
  const frame = event.senderFrame;
  const main = event.sender.mainFrame;
  return {
    webContentsId: event.sender.id,
    frameUrl: frame ? frame.url : null,
    isMainFrame: !!frame && frame.parent === null && frame.processId === main.processId && frame.routingId === main.routingId,
  };
}

/** Registers one handler per API method, each checking its caller before anything else. */
export function registerApiHandlers(ipcMain: IpcMain, trustedWebContentsId: () => number | null, route: ApiRoute): void {
  for (const method of API_METHODS) {
    ipcMain.handle(ipcChannel(method), (event, ...args: unknown[]) => handleApiCall(method, args, senderInfo(event), trustedWebContentsId(), route));
  }
}
