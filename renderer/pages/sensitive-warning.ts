// A live warning under the alias/tags fields when they look like personal data or secrets
// (AMP: never put sensitive data in free-form fields such as Name).
import { detectInWorkspaceFields, SENSITIVE_KIND_TITLES } from '../../shared/sensitive-data';
import { h, replace } from '../dom';

export function sensitiveWarning(): { el: HTMLElement; update(alias: string, tags: Record<string, string>): boolean } {
  const el = h('div', { class: 'warning', role: 'status', 'aria-live': 'polite', hidden: true });
  return {
    el,
    update(alias, tags) {
      const findings = detectInWorkspaceFields(alias, tags);
      el.hidden = findings.length === 0;
      replace(
        el,
        h('strong', null, 'This looks like sensitive data. '),
        'Aliases and tags are shown wherever workspaces are listed; they should describe the data, not hold it. Keep personal data and secrets out of them. ',
        h('ul', null, ...findings.map((f) => h('li', null, `${SENSITIVE_KIND_TITLES[f.kind]} in ${f.labelName === 'alias' ? 'the alias' : f.labelName.replace(/^tag:/, 'tag ')}: ${f.example}`))),
      );
      return findings.length > 0;
    },
  };
}

/** Parses 'k=v, k2=v2' (one per line or comma-separated) into tags; throws with a clear message. */
export function parseTags(text: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const part of text.split(/[\n,]/)) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`tag '${item}' must be written key=value`);
    tags[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return tags;
}

export function formatTags(tags: Readonly<Record<string, string>>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}
