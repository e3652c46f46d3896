// `npm start`: the desktop app when Electron and a display are available, otherwise the headless
// server (`ampule serve`, with the web console). `npm start -- --headless` always picks the server;
// other arguments go to `ampule serve` (e.g. `npm start -- --headless --port 9443`).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const headless = args.includes('--headless') || process.env.AMPULE_HEADLESS === '1';
const serveArgs = args.filter((a) => a !== '--headless');

function run(cmd, argv) {
  const child = spawn(cmd, argv, { stdio: 'inherit', cwd: root });
  // The child gets Ctrl-C from the terminal itself; a SIGTERM sent to us is passed on.
  for (const s of ['SIGTERM', 'SIGHUP']) process.on(s, () => child.kill(s));
  process.on('SIGINT', () => {});
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (!headless) {
  const { startDesktop } = await import('./electron-launch.mjs');
  const desktop = await startDesktop();
  if (desktop.child) {
    desktop.child.on('exit', (code) => process.exit(code ?? 0));
  } else {
    console.error(`npm start: no desktop window (${desktop.reason}); starting the headless server instead.`);
  }
  if (desktop.child) await new Promise(() => {});
}

if (!existsSync(join(root, 'dist', 'cli.mjs'))) {
  const built = await new Promise((resolve) => spawn(process.execPath, [join(root, 'build', 'build.mjs')], { stdio: 'inherit', cwd: root }).on('exit', resolve));
  if (built !== 0) process.exit(1);
}
run(process.execPath, [join(root, 'bin', 'ampule.mjs'), 'serve', ...serveArgs]);
