// Entry point of the window. In the desktop app the preload exposes the API as window.ampule;
// in a browser the page talks to the HTTPS console and first asks the admin to sign in.
import { createApiClient } from '../shared/api-client';
import { startApp } from './app';
import { loginPage } from './pages/login';
import { bridgeTransport, ConsoleClient } from './transport';
import { replace } from './dom';

async function start(): Promise<void> {
  const root = document.getElementById('app')!;
  root.classList.remove('boot');
  if (window.ampule) {
    startApp(root, createApiClient(bridgeTransport(window.ampule)));
    return;
  }
  const client = new ConsoleClient();
  let stopApp: (() => void) | null = null;
  const showLogin = async () => {
    stopApp?.();
    stopApp = null;
    const session = await client.session();
    if (session.authenticated) {
      stopApp = startApp(root, createApiClient(client.transport), () => void client.logout().then(showLogin));
    } else {
      replace(root, loginPage(client, session, () => void showLogin()));
    }
  };
  client.onSignedOut = () => void showLogin();
  await showLogin();
}

void start();
