// The web console's sign-in: the admin password and, when MFA is on, the authenticator code.
import { field, h } from '../dom';
import type { ConsoleClient, ConsoleSession } from '../transport';
import { errorBox } from '../ui';

export function loginPage(client: ConsoleClient, session: ConsoleSession, onSignedIn: () => void): HTMLElement {
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, autofocus: true });
  const code = h('input', { type: 'text', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: 6, required: true });
  const err = errorBox();
  const submit = h('button', { type: 'submit', class: 'primary wide' }, 'Sign in');
  const form = h(
    'form',
    { class: 'login-form', 'aria-label': 'Sign in' },
    // Lets password managers file the credential under a name; the console has one admin.
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: 'admin', hidden: true, 'aria-hidden': 'true', tabindex: -1 }),
    field('Admin password', password),
    session.mfaRequired ? field('Authenticator code', code, 'The 6-digit code from your authenticator app.') : null,
    err.el,
    submit,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.clear();
    submit.disabled = true;
    try {
      await client.login(password.value, session.mfaRequired ? code.value : '');
      onSignedIn();
    } catch (e) {
      err.set(e);
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  return h(
    'main',
    { class: 'login' },
    h(
      'div',
      { class: 'login-card' },
      h('div', { class: 'brand big' }, h('span', { class: 'logo', 'aria-hidden': 'true' }), 'Ampule'),
      h('p', { class: 'lead' }, 'Web console'),
      session.passwordSet ? form : h('p', { class: 'warning' }, 'No console password is set. On the server, run ', h('code', null, 'ampule console set-password'), ', then reload this page.'),
    ),
  );
}
