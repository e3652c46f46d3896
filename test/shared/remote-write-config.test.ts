import { describe, expect, it } from 'vitest';
import { grafanaSettings, remoteWriteYaml } from '../../shared/remote-write-config';

const input = { workspaceId: 'ws-abc', remoteWriteUrl: 'https://localhost:9443/workspaces/ws-abc/api/v1/remote_write', prometheusUrl: 'https://localhost:9443/workspaces/ws-abc' };

describe('client settings', () => {
  it('writes a remote_write block with a credentials file and the CA, never a token', () => {
    const yaml = remoteWriteYaml(input);
    expect(yaml).toBe(
      [
        'remote_write:',
        '  - url: "https://localhost:9443/workspaces/ws-abc/api/v1/remote_write"',
        '    authorization:',
        '      type: Bearer',
        '      credentials_file: "/etc/prometheus/ampule-ws-abc.token"',
        '    tls_config:',
        '      ca_file: "/etc/prometheus/ampule-ca.pem"',
        '      min_version: TLS12',
        '',
      ].join('\n'),
    );
    expect(yaml).not.toMatch(/amp_/);
  });

  it('quotes values so YAML cannot be broken by them', () => {
    expect(remoteWriteYaml({ ...input, tokenFile: 'a": b\n#' })).toContain('credentials_file: "a\\": b\\n#"');
  });

  it('tells Grafana the Prometheus URL and to send a query token', () => {
    const g = grafanaSettings(input);
    expect(g.find((s) => s.label === 'Prometheus server URL')!.value).toBe(input.prometheusUrl);
    expect(g.some((s) => /Bearer/.test(s.value))).toBe(true);
  });
});
