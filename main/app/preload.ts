// The window's only door to the appliance: ONE frozen object `window.ampule` with one function
// per AmpuleApi method, each invoking its own IPC channel. Never a raw ipcRenderer: the page
// cannot pick a channel, listen to events or send anything the contract does not name.
// Runs sandboxed: it may require 'electron' and nothing else (everything else is bundled in).
import { contextBridge, ipcRenderer } from 'electron';
import { API_METHODS, type AmpuleBridge, type ApiResult } from '../../shared/api';
import { ipcChannel } from './channels';

const bridge: Record<string, (...args: unknown[]) => Promise<ApiResult<unknown>>> = {};
for (const method of API_METHODS) {
  const channel = ipcChannel(method);
  bridge[method] = (...args: unknown[]) => ipcRenderer.invoke(channel, ...args) as Promise<ApiResult<unknown>>;
}

contextBridge.exposeInMainWorld('ampule', Object.freeze(bridge) as unknown as AmpuleBridge);
