// Where Ampule keeps its data when no --data-dir or AMPULE_DATA_DIR is given: the same folder
// Electron's app.getPath('userData') uses for an app named Ampule, so desktop and CLI agree.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultDataDir(env: Readonly<Record<string, string | undefined>> = process.env, platform = process.platform): string {
  const home = env.HOME ?? homedir();
  if (platform === 'win32') return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'Ampule');
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'Ampule');
  return join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'Ampule');
}
