// Prometheus's template language: outputs Prometheus's own template tests (template/template_test.go)
// and a real promtool run (seen for this file) expect, and parse errors that name the place.
import { describe, expect, it } from 'vitest';
import { checkAlertTemplate, expandAlertTemplate, expandTemplate, TemplateParseError } from '../../../main/rules/template';

const cases: { text: string; input?: unknown; output: string }[] = [
  { text: 'plain text', output: 'plain text' },
  { text: '{{ 1 }}', output: '1' },
  { text: '{{ "<b>" }}', output: '<b>' },
  { text: '{{define "x"}}{{.arg0}} {{.arg1}}{{end}}{{template "x" (args 1 "2")}}', output: '1 2' },
  { text: '{{ "foo.example.com:12345" | stripPort }}', output: 'foo.example.com' },
  { text: '{{ "[2001:0DB8::1]:12345" | stripPort }}', output: '2001:0DB8::1' },
  { text: '{{ "[2001:0DB8::1]::12345" | stripPort }}', output: '[2001:0DB8::1]::12345' },
  { text: '{{ .Foo }}', output: '<no value>' },
  { text: '{{ "foo.example.com" | stripDomain }}', output: 'foo' },
  { text: '{{ "foo.example.com:12345" | stripDomain }}', output: 'foo:12345' },
  { text: '{{ "192.0.2.1:12345" | stripDomain }}', output: '192.0.2.1:12345' },
  { text: '{{ "[2001:0DB8::1]:12345" | stripDomain }}', output: '[2001:0DB8::1]:12345' },
  { text: '{{ reReplaceAll "(a)b" "x$1" "ab" }}', output: 'xa' },
  { text: '{{ range . }}{{ humanize . }}:{{ end }}', input: [0.0, 1.0, 1234567.0, 0.12], output: '0:1:1.235M:120m:' },
  { text: '{{ range . }}{{ humanize . }}:{{ end }}', input: ['0.0', '1.0', '1234567.0', '.12'], output: '0:1:1.235M:120m:' },
  { text: '{{ range . }}{{ humanize . }}:{{ end }}', input: [0n, -1n, 1n, 1234567n, 9223372036854775807n], output: '0:-1:1:1.235M:9.223E:' },
  { text: '{{ range . }}{{ humanize1024 . }}:{{ end }}', input: [0.0, 1.0, 1048576.0, 0.12], output: '0:1:1Mi:0.12:' },
  { text: '{{ range . }}{{ humanize1024 . }}:{{ end }}', input: [0n, -1n, 1n, 1234567n, 9223372036854775807n], output: '0:-1:1:1.177Mi:8Ei:' },
  { text: '{{ range . }}{{ humanizeDuration . }}:{{ end }}', input: [0, 1, 60, 3600, 86400, 86400 + 3600, -(86400 * 2 + 3600 * 3 + 60 * 4 + 5), 899.99], output: '0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:' },
  { text: '{{ range . }}{{ humanizeDuration . }}:{{ end }}', input: [0.1, 0.0001, 0.12345, 60.1, 60.5, 1.2345, 12.345], output: '100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:' },
  { text: '{{ range . }}{{ humanizeDuration . }}:{{ end }}', input: [0n, -1n, 1n, 1234567n], output: '0s:-1s:1s:14d 6h 56m 7s:' },
  { text: '{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:{{humanizeTimestamp .}}:{{ end }}', input: [Infinity, -Infinity, NaN], output: '+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:' },
  { text: '{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}', output: '-22.22%:0%:12.35%:123.5%' },
  { text: '{{ range . }}{{ humanizePercentage . }}:{{ end }}', input: [0n, -1n, 1n, 1234567n, 9223372036854775807n], output: '0%:-100%:100%:1.235e+08%:9.223e+20%:' },
  { text: '{{ range . }}{{ humanizeTimestamp . }}:{{ end }}', input: [0n, -1n, 1n, 1234567n, 9223372036n], output: '1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-01 00:00:01 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC:' },
  { text: '{{ 1435065584.128 | humanizeTimestamp }}', output: '2015-06-23 13:19:44.128 +0000 UTC' },
  { text: '{{ "1435065584.128" | humanizeTimestamp }}', output: '2015-06-23 13:19:44.128 +0000 UTC' },
  { text: '{{ "aa bb CC" | title }}', output: 'Aa Bb CC' },
  { text: '{{ "aa bb CC" | toUpper }}', output: 'AA BB CC' },
  { text: '{{ "aA bB CC" | toLower }}', output: 'aa bb cc' },
  { text: '{{ match "a+" "aa" }} {{ match "a+" "b" }}', output: 'true false' },
  { text: '{{ graphLink "up" }}', output: '/graph?g0.expr=up&g0.tab=0' },
  { text: '{{ tableLink "up" }}', output: '/graph?g0.expr=up&g0.tab=1' },
  { text: '{{ printf "%0.2f" (parseDuration "1h2m10ms") }}', output: '3720.01' },
  // Go template control flow and variables.
  { text: '{{ if eq . "a" }}A{{ else if eq . "b" }}B{{ else }}C{{ end }}', input: 'b', output: 'B' },
  { text: '{{ range $i, $e := . }}{{ $i }}={{ $e }};{{ else }}none{{ end }}', input: ['x', 'y'], output: '0=x;1=y;' },
  { text: '{{ range . }}x{{ else }}none{{ end }}', input: [], output: 'none' },
  { text: '{{ with . }}[{{ . }}]{{ else }}empty{{ end }}', input: '', output: 'empty' },
  { text: '{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}', output: '2' },
  { text: '{{- "a" -}}  \n  {{- "b" }} {{/* comment */}}c', output: 'ab c' },
  { text: '{{ range . }}{{ if eq . 2 }}{{ break }}{{ end }}{{ . }}{{ end }}', input: [1n, 2n, 3n], output: '1' },
  { text: '{{ printf "%s=%d %5.1f|%-4s|%q %v" "a" 3 2.25 "x" "q" 1.5 }}', output: 'a=3   2.2|x   |"q" 1.5' },
  { text: '{{ len "héllo" }} {{ index . "k" }} {{ and 1 0 }} {{ or 0 "" "z" }} {{ not true }}', input: new Map([['k', 'v']]), output: '6 v 0 z false' },
  { text: '{{ 1e6 }} {{ 1.0 }} {{ 0.000012 }} {{ 123456789.0 }}', output: '1e+06 1 1.2e-05 1.23456789e+08' },
];

describe('template expansion', () => {
  it.each(cases)('$text', ({ text, input, output }) => {
    expect(expandTemplate(text, input)).toBe(output);
  });

  it('errors from functions carry the place and the function', () => {
    expect(() => expandTemplate('{{ humanize "one" }}', undefined)).toThrow('error calling humanize: strconv.ParseFloat: parsing "one": invalid syntax');
    expect(() => expandTemplate('{{ query "missing" | first }}', undefined, { query: () => [] })).toThrow('first() called on vector with no elements');
  });

  it('runaway templates stop with an error, not a crash', () => {
    expect(() => expandTemplate('{{define "x"}}{{template "x"}}{{end}}{{template "x"}}', undefined)).toThrow('exceeded maximum template depth');
    expect(() => expandTemplate('{{ range 5 }}x{{ end }}', undefined)).toThrow("range can't iterate over 5");
    expect(() => expandTemplate('{{define "x"}}{{template "x" .}}{{template "x" .}}{{.}}{{end}}{{template "x" "y"}}', undefined)).toThrow();
  });

  it('query, first, value, label and sortByLabel over a query result', () => {
    const query = () => [
      { labels: { __name__: 'metric', instance: 'b' }, value: 21 },
      { labels: { __name__: 'metric', instance: 'a' }, value: 11 },
    ];
    expect(expandTemplate('{{ range query "metric" | sortByLabel "instance" }}{{.Labels.instance}}:{{.Value}}: {{end}}', undefined, { query })).toBe('a:11: b:21: ');
    expect(expandTemplate('{{ query "metric" | first | value }} {{ query "metric" | first | label "instance" }} {{ $x := query "metric" | first }}[{{ $x.Labels.foo }}]', undefined, { query })).toBe('21 b []');
  });

  it('alert templates: $labels, $value, $externalLabels, missing labels empty, int/float comparison refused', () => {
    // Outputs taken from Debian's promtool 2.42 (test rules) for the same templates.
    const d = { labels: { __name__: 'up', job: 'j' }, externalLabels: {}, externalURL: '', value: 1 };
    expect(expandAlertTemplate('{{ $labels.missing }}|{{ $value }}|{{ .Value }}|{{ 1e6 }}|{{ 1.0 }}|{{ 1 }}|{{ $labels }}|{{ humanize 1234567.0 }}|{{ printf "%.2f" $value }}|{{ if gt $value 0.5 }}big{{ end }}', 'A', d))
      .toBe('|1|1|1e+06|1|1|map[__name__:up job:j]|1.235M|1.00|big');
    expect(expandAlertTemplate('{{ if gt $value 10 }}x{{ end }}', 'A', d))
      .toBe('<error expanding template: error executing template __alert_A: template: __alert_A:1:118: executing "__alert_A" at <gt $value 10>: error calling gt: incompatible types for comparison>');
    expect(expandAlertTemplate('{{ $externalLabels }}|{{ $externalURL }}|{{ title "aa bb" }}|{{ .Labels.job }}|{{ $labels.job | toUpper }}', 'A', d)).toBe('map[]||Aa Bb|j|J');
  });

  it.each([
    ['{{', 'unclosed action', 1],
    ['{{ foo }}', 'function "foo" not defined', 1],
    ['{{ $x }}', 'undefined variable "$x"', 1],
    ['x\n{{ end }}', 'unexpected {{end}}', 2],
    ['{{ if 1 }}', 'unexpected EOF', 1],
    ['{{ 1 | 2 }}', 'non executable command in pipeline stage 2', 1],
    ['{{ break }}', '{{break}} outside {{range}}', 1],
    ['{{ "unterminated }}', 'unterminated quoted string', 1],
    ['{{ 1 }}{{ 2 }}\n\n{{ .A | nope }}', 'function "nope" not defined', 3],
  ] as const)('parse error for %j names the line', (text, detail, line) => {
    let err: unknown;
    try {
      checkAlertTemplate(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TemplateParseError);
    expect((err as TemplateParseError).detail).toBe(detail);
    expect((err as TemplateParseError).line).toBe(line);
  });
});
