// A workspace's limits (AMP's service quotas), shown and raised or lowered per workspace: each
// limit with the value in force and its default. Only changed values are sent; the appliance
// validates them (each limit's own minimum) and a refusal names the field, which is marked.
import { LIMIT_NAMES, type LimitName, type WorkspaceLimitsInfo } from '../../shared/api';
import type { AppContext } from '../context';
import { field, h, replace } from '../dom';
import { errorBox, notify } from '../ui';

const LIMITS: Readonly<Record<LimitName, { label: string; unit: string }>> = {
  ingestionRate: { label: 'Ingestion rate', unit: 'samples per second' },
  ingestionBurst: { label: 'Ingestion burst', unit: 'samples at once' },
  activeSeries: { label: 'Active series', unit: 'series' },
  labelsPerSeries: { label: 'Labels per series', unit: 'labels' },
  labelNameLength: { label: 'Label name length', unit: 'characters' },
  labelValueLength: { label: 'Label value length', unit: 'characters' },
  maxBodyBytes: { label: 'Request body size', unit: 'bytes, compressed' },
  maxDecompressedBytes: { label: 'Decompressed request size', unit: 'bytes' },
  outOfOrderWindowMs: { label: 'Out-of-order window', unit: 'milliseconds' },
  maxExemplars: { label: 'Exemplars kept', unit: 'exemplars' },
};

/** Whole numbers with thousands separators (limits are never fractions; no exponent notation). */
const whole = (n: number) => n.toLocaleString('en-US');

/** The Limits section's content; `reload` is called after a save. */
export function limitsForm(ctx: AppContext, workspaceId: string, info: WorkspaceLimitsInfo, reload: () => Promise<void>): HTMLElement {
  const inputs = new Map<LimitName, HTMLInputElement>();
  const err = errorBox();
  const rows = LIMIT_NAMES.map((name) => {
    const { label, unit } = LIMITS[name];
    const input = h('input', { type: 'text', inputmode: 'numeric', name, value: String(info.limits[name]), autocomplete: 'off', 'aria-invalid': 'false' });
    inputs.set(name, input);
    const set = info.overridden.includes(name);
    return field(label, input, `${unit} · ${set ? `set for this workspace (default ${whole(info.defaults[name])})` : 'default'}`);
  });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save limits');
  const form = h(
    'form',
    { class: 'limits-form', 'aria-label': 'Limits', novalidate: true },
    h('p', { class: 'hint' }, 'Senders over the ingestion rate or the active-series limit get 429 and retry; raise them here for a large load.'),
    h('div', { class: 'limits-grid' }, ...rows),
    err.el,
    h('div', { class: 'actions-left' }, save),
  );
  const mark = (bad: LimitName | null) => {
    for (const [name, input] of inputs) input.setAttribute('aria-invalid', String(name === bad));
  };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.clear();
    mark(null);
    const changes: Partial<Record<LimitName, number>> = {};
    for (const [name, input] of inputs) {
      const text = input.value.trim().replace(/[\s,_]/g, '');
      // Checked here for a clear message; the appliance checks again (and each limit's minimum).
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
        err.set(new Error(`${LIMITS[name].label}: must be a whole number, got "${input.value.trim()}"`));
        mark(name);
        input.focus();
        return;
      }
      if (Number(text) !== info.limits[name]) changes[name] = Number(text);
    }
    if (Object.keys(changes).length === 0) {
      notify('No limit changed');
      return;
    }
    save.disabled = true;
    try {
      await ctx.api.setLimits(workspaceId, changes);
      notify(`Limits saved: ${Object.entries(changes).map(([n, v]) => `${LIMITS[n as LimitName].label} ${whole(v)}`).join(', ')}`);
      await reload();
    } catch (e) {
      const bad = (e as { field?: string }).field;
      const name = LIMIT_NAMES.find((n) => n === bad) ?? null;
      err.set(name ? new Error(`${LIMITS[name].label}: ${String((e as Error).message).replace(`${name}: `, '')}`) : e);
      mark(name);
      if (name) inputs.get(name)!.focus();
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

/** Loads the limits into `into` (the section's body). */
export async function loadLimits(ctx: AppContext, workspaceId: string, into: HTMLElement): Promise<void> {
  const reload = () => loadLimits(ctx, workspaceId, into);
  replace(into, limitsForm(ctx, workspaceId, await ctx.api.getLimits(workspaceId), reload));
}
