// Ready-to-paste client settings for a workspace: the Prometheus remote_write block and the
// Grafana data-source settings. The token itself is never embedded: Prometheus reads it from a
// file, Grafana from its own secret store.

export interface ClientConfigInput {
  readonly workspaceId: string;
  readonly remoteWriteUrl: string;
  readonly prometheusUrl: string;
  /** Where the user will save the token and the CA certificate on the Prometheus host. */
  readonly tokenFile?: string;
  readonly caFile?: string;
}

function yamlString(s: string): string {
  return JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar
}

export function remoteWriteYaml(c: ClientConfigInput): string {
  const tokenFile = c.tokenFile ?? `/etc/prometheus/ampule-${c.workspaceId}.token`;
  const caFile = c.caFile ?? '/etc/prometheus/ampule-ca.pem';
  return [
    'remote_write:',
    `  - url: ${yamlString(c.remoteWriteUrl)}`,
    '    authorization:',
    '      type: Bearer',
    `      credentials_file: ${yamlString(tokenFile)}`,
    '    tls_config:',
    `      ca_file: ${yamlString(caFile)}`,
    '      min_version: TLS12',
    '',
  ].join('\n');
}

export interface GrafanaSetting {
  readonly label: string;
  readonly value: string;
}

export function grafanaSettings(c: ClientConfigInput): GrafanaSetting[] {
  return [
    { label: 'Type', value: 'Prometheus' },
    { label: 'Prometheus server URL', value: c.prometheusUrl },
    { label: 'Authentication', value: 'No authentication; add HTTP header below' },
    { label: 'HTTP header', value: 'Authorization: Bearer <a token with the query scope>' },
    { label: 'TLS settings', value: 'Add self-signed certificate: paste the CA certificate (Copy CA certificate above)' },
    { label: 'HTTP method', value: 'POST' },
  ];
}
