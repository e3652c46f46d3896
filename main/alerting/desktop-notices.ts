// Which alerts the desktop app announces with an OS notification, and with what text. Decided in
// the core, so the Electron side only shows what it is handed. An alert is announced once per
// firing: when it turns firing (a later resend, or staying firing, announces nothing; firing again
// after it resolved is a new firing). One notice per alerting rule and evaluation, however many
// of its alerts fired, so a rule matching a thousand series does not flood the desktop.
//
// OS notifications leave the app: the notification centre keeps them (on disk, in clear, outside
// Ampule's encryption) and shows them on a locked screen. So a notice carries only the alert's
// name, its severity, its summary and the workspace's alias, each dropped when the sensitive-data
// detector flags it, and never other label values or the query.
import { detectSensitive, SENSITIVE_KIND_TITLES } from '../../shared/sensitive-data';
import { getLabel } from '../../shared/labels';
import type { ActiveAlert, GroupEvaluator } from '../rules/evaluator';

export interface DesktopNotice {
  readonly workspaceId: string;
  readonly title: string;
  readonly body: string;
}

/** Longest text shown: OS notifications cut longer ones anyway. */
const MAX_TEXT = 160;

/** The text, or why it is withheld when the detector flags it; null for empty text. */
export function safeText(text: string): { text: string; withheld: boolean } | null {
  const t = text.replace(/\s+/g, ' ').trim();
  if (!t) return null;
  const found = detectSensitive(t);
  if (found.length > 0) return { text: `hidden: looks like ${SENSITIVE_KIND_TITLES[found[0]!.kind].toLowerCase()}`, withheld: true };
  return { text: t.length > MAX_TEXT ? `${t.slice(0, MAX_TEXT - 1)}…` : t, withheld: false };
}

export class FiringNotices {
  /** Alerts already announced; the evaluator makes a new object when a resolved alert fires again. */
  private readonly announced = new WeakSet<ActiveAlert>();

  constructor(
    private readonly workspaceId: string,
    /** The workspace's alias, looked up when a notice is made (it may be renamed). */
    private readonly alias: () => string,
  ) {}

  /** After a group evaluation: a notice per alerting rule with alerts that fired since the last call. */
  collect(ev: GroupEvaluator): DesktopNotice[] {
    const out: DesktopNotice[] = [];
    for (const rule of ev.rules) {
      if (rule.def.kind !== 'alerting') continue;
      const fired: ActiveAlert[] = [];
      for (const a of rule.active.values()) {
        if (a.state !== 'firing' || this.announced.has(a)) continue;
        this.announced.add(a);
        fired.push(a);
      }
      if (fired.length > 0) out.push(this.notice(rule.def.name, fired));
    }
    return out;
  }

  private notice(alertname: string, fired: readonly ActiveAlert[]): DesktopNotice {
    const name = safeText(alertname);
    const severity = safeText(getLabel(fired[0]!.labels, 'severity'));
    const alias = safeText(this.alias()) ?? { text: this.workspaceId, withheld: false };
    const title = `Alert firing: ${name && !name.withheld ? name.text : 'an alerting rule'}${severity && !severity.withheld ? ` (${severity.text})` : ''}`;
    const where = `workspace ${alias.withheld ? this.workspaceId : alias.text}`;
    let body: string;
    if (fired.length === 1) {
      const summary = safeText(fired[0]!.annotations.summary ?? '');
      body = summary ? `${summary.text} — ${where}` : `In ${where}`;
    } else {
      body = `${fired.length} alerts firing in ${where}`;
    }
    return { workspaceId: this.workspaceId, title, body };
  }
}
