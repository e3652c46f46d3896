// Per-series label rules. Run once per new series (known series hit the cache), so clarity
// beats speed here, save for not counting UTF-8 bytes of strings too short to be over a limit.
import type { WorkspaceLimits } from '../control/types';
import { formatLabels, METRIC_NAME, type Labels } from '../../shared/labels';

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SERIES_TEXT_MAX = 200;

export interface LabelProblem {
  /** A Rejection reason code: invalid_labels or label_limit. */
  readonly reason: 'invalid_labels' | 'label_limit';
  readonly message: string;
}

/**
 * Checks one series' labels (their count against labelsPerSeries is checked before they are
 * decoded, in remote-write.ts). `utf8Names` allows any UTF-8 metric and label names (remote write
 * 2.0); otherwise the classic Prometheus character sets apply. Returns null when valid.
 */
export function checkLabels(labels: Labels, utf8Names: boolean, limits: WorkspaceLimits): LabelProblem | null {
  const bad = (reason: LabelProblem['reason'], rule: string): LabelProblem => ({
    reason,
    message: `series ${describeSeries(labels)}: ${rule}`,
  });
  let metricName: string | undefined;
  for (let i = 0; i < labels.length; i++) {
    const { name, value } = labels[i]!;
    if (name === '') return bad('invalid_labels', 'has a label with an empty name');
    if (value === '') return bad('invalid_labels', `label ${JSON.stringify(name)} has an empty value (omit the label instead)`);
    if (i > 0) {
      const prev = labels[i - 1]!.name;
      if (prev === name) return bad('invalid_labels', `label ${JSON.stringify(name)} appears twice`);
      if (prev > name) return bad('invalid_labels', `labels are not sorted by name (${JSON.stringify(prev)} before ${JSON.stringify(name)})`);
    }
    if (overBytes(name, limits.labelNameLength)) {
      return bad('label_limit', `label name of ${utf8Bytes(name)} bytes is over the limit labelNameLength=${limits.labelNameLength}`);
    }
    if (overBytes(value, limits.labelValueLength)) {
      return bad('label_limit', `value of label ${JSON.stringify(truncate(name))} is ${utf8Bytes(value)} bytes, over the limit labelValueLength=${limits.labelValueLength}`);
    }
    if (name === METRIC_NAME) metricName = value;
    else if (!utf8Names && !LABEL_NAME_RE.test(name)) {
      return bad('invalid_labels', `label name ${JSON.stringify(truncate(name))} is invalid: must match [a-zA-Z_][a-zA-Z0-9_]*`);
    }
  }
  if (metricName === undefined) return bad('invalid_labels', 'has no metric name (label __name__)');
  if (!utf8Names && !METRIC_NAME_RE.test(metricName)) {
    return bad('invalid_labels', `metric name ${JSON.stringify(truncate(metricName))} is invalid: must match [a-zA-Z_:][a-zA-Z0-9_:]*`);
  }
  return null;
}

/** The series in Prometheus text form, shortened for error messages. */
export function describeSeries(labels: Labels): string {
  return truncate(formatLabels(labels));
}

function truncate(s: string): string {
  return s.length > SERIES_TEXT_MAX ? s.slice(0, SERIES_TEXT_MAX) + '…' : s;
}

function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Whether s is over `limit` UTF-8 bytes; counted only when it could be (a UTF-16 unit is at most 3 bytes). */
function overBytes(s: string, limit: number): boolean {
  return s.length * 3 > limit && utf8Bytes(s) > limit;
}
