// write_relabel_configs with Prometheus's semantics (model/relabel): the same actions, defaults
// (separator ";", regex "(.*)", replacement "$1", action replace), fully anchored RE2 regexes
// (re2js, so a pattern means what it means in Prometheus), Go's `$1`/`${name}` expansion and
// hashmod on the last 8 bytes of the MD5 of the joined source values.
import { createHash } from 'node:crypto';
import { RE2JS, type Matcher } from 're2js';
import type { Label, Labels } from '../../shared/labels';

export type RelabelAction =
  | 'replace'
  | 'keep'
  | 'drop'
  | 'keepequal'
  | 'dropequal'
  | 'hashmod'
  | 'labelmap'
  | 'labeldrop'
  | 'labelkeep'
  | 'lowercase'
  | 'uppercase';

const ACTIONS: readonly RelabelAction[] = ['replace', 'keep', 'drop', 'keepequal', 'dropequal', 'hashmod', 'labelmap', 'labeldrop', 'labelkeep', 'lowercase', 'uppercase'];

/** One rule as written in a configuration (Prometheus's field names). */
export interface RelabelConfig {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  modulus?: number;
  target_label?: string;
  replacement?: string;
  action?: string;
}

export interface RelabelRule {
  readonly sourceLabels: readonly string[];
  readonly separator: string;
  readonly regex: RE2JS;
  /** The regex as written (without the anchoring), for display. */
  readonly regexSource: string;
  readonly modulus: bigint;
  readonly targetLabel: string;
  readonly replacement: string;
  readonly action: RelabelAction;
}

export class RelabelConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'RelabelConfigError';
  }
}

const DEFAULT_REGEX = '(.*)';
const DEFAULT_SEPARATOR = ';';
const DEFAULT_REPLACEMENT = '$1';
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Prometheus's check for a target_label or labelmap replacement holding `$` references. */
const RELABEL_TARGET = RE2JS.compile('^(?:(?:[a-zA-Z_]|\\$(?:\\{\\w+\\}|\\w+))+\\w*)+$');

/** Validates and compiles rules; `field` prefixes errors (e.g. "write_relabel_configs"). */
export function compileRelabelConfigs(configs: unknown, field = 'write_relabel_configs'): RelabelRule[] {
  if (configs === undefined || configs === null) return [];
  if (!Array.isArray(configs)) throw new RelabelConfigError(field, 'must be a list of relabel rules');
  return configs.map((c, i) => compileRule(c, `${field}[${i}]`));
}

function compileRule(raw: unknown, at: string): RelabelRule {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new RelabelConfigError(at, 'must be a mapping');
  const c = raw as Record<string, unknown>;
  const known = new Set(['source_labels', 'separator', 'regex', 'modulus', 'target_label', 'replacement', 'action']);
  for (const k of Object.keys(c)) if (!known.has(k)) throw new RelabelConfigError(`${at}.${k}`, 'unknown field');
  const str = (k: string, dflt: string): string => {
    const v = c[k];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'string') throw new RelabelConfigError(`${at}.${k}`, 'must be a string');
    return v;
  };
  const actionText = str('action', 'replace').toLowerCase();
  if (!(ACTIONS as readonly string[]).includes(actionText)) {
    throw new RelabelConfigError(`${at}.action`, `unknown relabel action "${actionText}" (one of ${ACTIONS.join(', ')})`);
  }
  const action = actionText as RelabelAction;
  let sourceLabels: string[] = [];
  if (c.source_labels !== undefined && c.source_labels !== null) {
    if (!Array.isArray(c.source_labels) || !c.source_labels.every((s) => typeof s === 'string')) {
      throw new RelabelConfigError(`${at}.source_labels`, 'must be a list of label names');
    }
    sourceLabels = c.source_labels as string[];
    for (const s of sourceLabels) if (!LABEL_NAME.test(s)) throw new RelabelConfigError(`${at}.source_labels`, `"${s}" is not a valid label name`);
  }
  const separator = str('separator', DEFAULT_SEPARATOR);
  const regexSource = str('regex', DEFAULT_REGEX);
  const targetLabel = str('target_label', '');
  const replacement = str('replacement', DEFAULT_REPLACEMENT);
  let modulus = 0n;
  if (c.modulus !== undefined && c.modulus !== null) {
    if (typeof c.modulus !== 'number' || !Number.isSafeInteger(c.modulus) || c.modulus < 0) {
      throw new RelabelConfigError(`${at}.modulus`, 'must be a non-negative integer');
    }
    modulus = BigInt(c.modulus);
  }
  let regex: RE2JS;
  try {
    regex = RE2JS.compile(`^(?:${regexSource})$`);
  } catch (e) {
    throw new RelabelConfigError(`${at}.regex`, `invalid RE2 regular expression: ${(e as Error).message}`);
  }

  // The checks of Prometheus's relabel.Config.Validate, each naming its field.
  if (action === 'hashmod' && modulus === 0n) throw new RelabelConfigError(`${at}.modulus`, 'hashmod requires a non-zero modulus');
  const needsTarget: RelabelAction[] = ['replace', 'hashmod', 'lowercase', 'uppercase', 'keepequal', 'dropequal'];
  if (needsTarget.includes(action) && targetLabel === '') throw new RelabelConfigError(`${at}.target_label`, `the ${action} action requires a target_label`);
  if (action === 'replace' && !targetLabel.includes('$') && !LABEL_NAME.test(targetLabel)) {
    throw new RelabelConfigError(`${at}.target_label`, `"${targetLabel}" is not a valid label name`);
  }
  if (action === 'replace' && targetLabel.includes('$') && !RELABEL_TARGET.testExact(targetLabel)) {
    throw new RelabelConfigError(`${at}.target_label`, `"${targetLabel}" is not a valid target_label template`);
  }
  if (['lowercase', 'uppercase', 'keepequal', 'dropequal', 'hashmod'].includes(action) && !LABEL_NAME.test(targetLabel)) {
    throw new RelabelConfigError(`${at}.target_label`, `"${targetLabel}" is not a valid label name`);
  }
  if (['lowercase', 'uppercase', 'keepequal', 'dropequal'].includes(action) && replacement !== DEFAULT_REPLACEMENT) {
    throw new RelabelConfigError(`${at}.replacement`, `cannot be set for the ${action} action`);
  }
  if (action === 'labelmap' && !RELABEL_TARGET.testExact(replacement)) {
    throw new RelabelConfigError(`${at}.replacement`, `"${replacement}" is not a valid replacement for labelmap`);
  }
  if ((action === 'keepequal' || action === 'dropequal') && (regexSource !== DEFAULT_REGEX || modulus !== 0n || separator !== DEFAULT_SEPARATOR)) {
    throw new RelabelConfigError(at, `the ${action} action takes only source_labels and target_label`);
  }
  if ((action === 'labeldrop' || action === 'labelkeep') && (sourceLabels.length > 0 || targetLabel !== '' || modulus !== 0n || separator !== DEFAULT_SEPARATOR || replacement !== DEFAULT_REPLACEMENT)) {
    throw new RelabelConfigError(at, `the ${action} action takes only regex`);
  }
  return { sourceLabels, separator, regex, regexSource, modulus, targetLabel, replacement, action };
}

/**
 * Applies the rules in order; null when a rule drops the series. The result is sorted by name
 * and has no empty values (setting a label to "" deletes it, as in Prometheus).
 */
export function relabel(labels: Labels, rules: readonly RelabelRule[]): Labels | null {
  if (rules.length === 0) return labels;
  const b = new Map<string, string>();
  for (const l of labels) b.set(l.name, l.value);
  for (const rule of rules) if (!apply(rule, b)) return null;
  const out: Label[] = [];
  for (const [name, value] of b) if (value !== '') out.push({ name, value });
  out.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return out;
}

function set(b: Map<string, string>, name: string, value: string): void {
  if (value === '') b.delete(name);
  else b.set(name, value);
}

function apply(rule: RelabelRule, b: Map<string, string>): boolean {
  let val = '';
  for (let i = 0; i < rule.sourceLabels.length; i++) {
    if (i > 0) val += rule.separator;
    val += b.get(rule.sourceLabels[i]!) ?? '';
  }
  switch (rule.action) {
    case 'drop':
      return !rule.regex.testExact(val);
    case 'keep':
      return rule.regex.testExact(val);
    case 'dropequal':
      return (b.get(rule.targetLabel) ?? '') !== val;
    case 'keepequal':
      return (b.get(rule.targetLabel) ?? '') === val;
    case 'replace': {
      const m = rule.regex.matcher(val);
      if (!m.matches()) return true;
      const target = expand(rule.targetLabel, m);
      if (!LABEL_NAME.test(target)) return true;
      // An empty result deletes the expanded target, as current Prometheus does (2.42 deleted the
      // unexpanded target_label, a no-op for templates; the two differ only for `$` targets).
      set(b, target, expand(rule.replacement, m));
      return true;
    }
    case 'lowercase':
      set(b, rule.targetLabel, val.toLowerCase());
      return true;
    case 'uppercase':
      set(b, rule.targetLabel, val.toUpperCase());
      return true;
    case 'hashmod':
      set(b, rule.targetLabel, hashmod(val, rule.modulus).toString());
      return true;
    case 'labelmap':
      for (const [name, value] of [...b]) {
        const m = rule.regex.matcher(name);
        if (m.matches()) set(b, expand(rule.replacement, m), value);
      }
      return true;
    case 'labeldrop':
      for (const name of [...b.keys()]) if (rule.regex.testExact(name)) b.delete(name);
      return true;
    case 'labelkeep':
      for (const name of [...b.keys()]) if (!rule.regex.testExact(name)) b.delete(name);
      return true;
  }
}

/** Prometheus's hashmod: the MD5 of the value, its last 8 bytes as a big-endian uint64, mod m. */
export function hashmod(value: string, modulus: bigint): bigint {
  const sum = createHash('md5').update(value, 'utf8').digest();
  return sum.readBigUInt64BE(8) % modulus;
}

const isNameChar = (ch: string): boolean => /[\p{L}\p{Nd}_]/u.test(ch);

/**
 * Go's Regexp.Expand: `$$` is a dollar; `$name` takes the longest run of letters, digits and
 * underscores; `${name}` is bounded by the braces; an all-digit name is a group number; a group
 * that does not exist or did not take part expands to nothing; a malformed `$` stays as text.
 */
export function expand(template: string, m: Matcher): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const d = template.indexOf('$', i);
    if (d < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, d);
    i = d + 1;
    if (template[i] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name = '';
    if (template[i] === '{') {
      let j = i + 1;
      while (j < template.length && isNameChar(template[j]!)) j++;
      if (j === i + 1 || template[j] !== '}') {
        out += '$';
        continue;
      }
      name = template.slice(i + 1, j);
      i = j + 1;
    } else {
      let j = i;
      // Iterate by code point so a letter outside the BMP counts as one character.
      while (j < template.length) {
        const ch = String.fromCodePoint(template.codePointAt(j)!);
        if (!isNameChar(ch)) break;
        j += ch.length;
      }
      if (j === i) {
        out += '$';
        continue;
      }
      name = template.slice(i, j);
      i = j;
    }
    out += group(m, name);
  }
  return out;
}

function group(m: Matcher, name: string): string {
  if (/^[0-9]+$/.test(name)) {
    const n = name.length > 8 ? -1 : Number(name);
    if (n < 0 || n > m.groupCount()) return '';
    return m.group(n) ?? '';
  }
  const idx = m.namedGroups[name];
  if (idx === undefined) return '';
  return m.group(idx) ?? '';
}
