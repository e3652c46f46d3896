// IPC channel names, shared by the preload and the main process. Pure (no node:*, no electron):
// the sandboxed preload can load nothing but 'electron' and its own bundle.

const PREFIX = 'ampule:';

/** One channel per API method. */
export function ipcChannel(method: string): string {
  return PREFIX + method;
}
