// The Alertmanager webhook message (version 4), as a webhook_config receiver gets it, built from a
// batch of alerts grouped by alertname (Alertmanager's usual `group_by: [alertname]`, root route).

/** One alert as Alertmanager's API v2 receives it; times in ms since the epoch. */
export interface NotifierAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly generatorURL: string;
}

export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface WebhookMessage {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: WebhookAlert[];
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;

/** Alertmanager's label-set fingerprint: FNV-1a 64 over sorted names and values, each followed by 0xff. */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  let h = FNV_OFFSET;
  const add = (b: number) => {
    h ^= BigInt(b);
    h = (h * FNV_PRIME) & MASK;
  };
  for (const name of Object.keys(labels).sort()) {
    for (const b of Buffer.from(name, 'utf8')) add(b);
    add(0xff);
    for (const b of Buffer.from(labels[name]!, 'utf8')) add(b);
    add(0xff);
  }
  return h.toString(16).padStart(16, '0');
}

function common(maps: readonly Readonly<Record<string, string>>[]): Record<string, string> {
  const out: Record<string, string> = { ...maps[0] };
  for (const m of maps.slice(1)) for (const k of Object.keys(out)) if (m[k] !== out[k]) delete out[k];
  return out;
}

/** Go's %q-like quoting for a group key: `{alertname="X"}`. */
const groupKey = (name: string) => `{}:{alertname=${JSON.stringify(name)}}`;

export function webhookMessages(receiver: string, batch: readonly NotifierAlert[], externalURL: string, now: number): WebhookMessage[] {
  const groups = new Map<string, NotifierAlert[]>();
  for (const a of batch) {
    const name = a.labels.alertname ?? '';
    let g = groups.get(name);
    if (!g) groups.set(name, (g = []));
    g.push(a);
  }
  return [...groups].map(([name, alerts]) => {
    const items: WebhookAlert[] = alerts.map((a) => ({
      status: a.endsAt <= now ? 'resolved' : 'firing',
      labels: { ...a.labels },
      annotations: { ...a.annotations },
      startsAt: new Date(a.startsAt).toISOString(),
      endsAt: new Date(a.endsAt).toISOString(),
      generatorURL: a.generatorURL,
      fingerprint: fingerprint(a.labels),
    }));
    return {
      version: '4',
      groupKey: groupKey(name),
      truncatedAlerts: 0,
      status: items.some((i) => i.status === 'firing') ? 'firing' : 'resolved',
      receiver,
      groupLabels: { alertname: name },
      commonLabels: common(alerts.map((a) => a.labels)),
      commonAnnotations: common(alerts.map((a) => a.annotations)),
      externalURL,
      alerts: items,
    };
  });
}
