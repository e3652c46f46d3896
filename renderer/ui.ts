// Shared widgets: notices, modal dialogs (<dialog>: focus trap and Esc for free), copy buttons,
// status badges, and how an ApiError is shown (message, field, advice).
import { ApiError } from '../shared/api';
import { append, h, replace, type Child } from './dom';

let noticeArea: HTMLElement | null = null;

function area(): HTMLElement {
  if (!noticeArea) {
    noticeArea = h('div', { class: 'notices', role: 'status', 'aria-live': 'polite' });
    document.body.appendChild(noticeArea);
  }
  return noticeArea;
}

export function notify(message: string, kind: 'ok' | 'error' = 'ok'): void {
  const n = h('div', { class: `notice notice-${kind}` }, message);
  area().appendChild(n);
  setTimeout(() => n.remove(), kind === 'error' ? 8000 : 3500);
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message + (e.advice ? ` — ${e.advice}` : '');
  return e instanceof Error ? e.message : String(e);
}

export function showError(e: unknown): void {
  notify(errorText(e), 'error');
}

/** An inline error box inside a form, announced to screen readers. */
export interface ErrorBox {
  readonly el: HTMLElement;
  set(e: unknown): void;
  clear(): void;
}

export function errorBox(): ErrorBox {
  const el = h('div', { class: 'form-error', role: 'alert', hidden: true });
  return {
    el,
    set(e) {
      replace(el, errorText(e));
      el.hidden = false;
    },
    clear() {
      el.hidden = true;
      replace(el);
    },
  };
}

/** Runs `action` when the form is submitted (instead of submitting it); a failure shows in `err`. */
export function onSubmit(form: HTMLFormElement, err: ErrorBox, action: () => Promise<void>): void {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await action();
    } catch (e) {
      err.set(e);
    }
  });
}

export function badge(status: string): HTMLElement {
  return h('span', { class: `badge badge-${status.toLowerCase()}` }, status);
}

export function copyButton(text: () => string, label = 'Copy'): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'small' }, label);
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text());
      b.textContent = 'Copied';
      setTimeout(() => (b.textContent = label), 1500);
    } catch {
      notify('The clipboard is not available here: select the text and copy it by hand', 'error');
    }
  });
  return b;
}

/** A link that saves `text` as a file (the CA certificate), built from a Blob so no URL carries it. */
export function downloadLink(name: string, text: string, label: string): HTMLAnchorElement {
  const a = h('a', { class: 'button small', download: name }, label);
  a.href = URL.createObjectURL(new Blob([text], { type: 'application/x-pem-file' }));
  return a;
}

/** A modal dialog; resolves when it closes. `body` receives a close function. */
export function openDialog(title: string, body: (close: () => void) => Child[], opts: { wide?: boolean } = {}): Promise<void> {
  const dialog = h('dialog', { class: opts.wide ? 'wide' : undefined, 'aria-labelledby': 'dlg-title' });
  const close = () => dialog.close();
  append(dialog, h('h2', { id: 'dlg-title' }, title), ...body(close));
  document.body.appendChild(dialog);
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve();
    });
  });
}

/** A button that disables itself while its async action runs and reports failures. */
export function actionButton(label: string, action: () => Promise<void>, props: Record<string, string> = {}): HTMLButtonElement {
  const b = h('button', { type: 'button', ...props }, label);
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await action();
    } catch (e) {
      showError(e);
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

export function section(title: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'card' }, h('h2', null, title), ...children);
}

export function table(headers: string[], rows: Child[][], empty = 'Nothing here yet.'): HTMLElement {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h(
    'table',
    { class: 'responsive' },
    h('thead', null, h('tr', null, ...headers.map((t) => h('th', { scope: 'col' }, t)))),
    // data-label: on a narrow screen each row becomes a block and a cell names its column.
    h('tbody', null, ...rows.map((r) => h('tr', null, ...r.map((c, i) => h('td', { 'data-label': headers[i] }, c))))),
  );
}
