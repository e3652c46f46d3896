// Prometheus's template language for rule labels and annotations: a Go text/template subset with
// Prometheus's functions and the alert variables ($labels, $value, $externalLabels, $externalURL).
import { execute, GoStruct, TemplateExecError } from './exec';
import { TEMPLATE_FUNCTION_NAMES, templateFunctions, type TemplateEnv } from './functions';
import { parseTemplate, TemplateParseError } from './parse';

export { TemplateParseError } from './parse';
export { TemplateExecError } from './exec';
export type { TemplateEnv } from './functions';

/** The variables Prometheus defines before every alert label and annotation template. */
const ALERT_DEFS = '{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}';

export interface AlertTemplateData {
  labels: Record<string, string>;
  externalLabels: Record<string, string>;
  externalURL: string;
  value: number;
}

/** Parses `text` with no variables defined; throws TemplateParseError naming the line. */
export function checkTemplate(text: string): void {
  parseTemplate(text, TEMPLATE_FUNCTION_NAMES);
}

/** Parses an alert label or annotation template (with $labels, $value … defined). */
export function checkAlertTemplate(text: string): void {
  parseTemplate(ALERT_DEFS + text, TEMPLATE_FUNCTION_NAMES);
}

/** Expands `text` with `data` as dot; throws TemplateParseError or TemplateExecError. */
export function expandTemplate(text: string, data: unknown, env: TemplateEnv = {}, name = 'template'): string {
  return execute(parseTemplate(text, TEMPLATE_FUNCTION_NAMES), data, templateFunctions(env), name);
}

/**
 * Expands an alert label or annotation as Prometheus does; a failure becomes the text
 * `<error expanding template: …>` (Prometheus keeps the alert and shows the error in its place).
 */
export function expandAlertTemplate(text: string, alertName: string, data: AlertTemplateData, env: TemplateEnv = {}): string {
  const name = `__alert_${alertName}`;
  const dot = new GoStruct('template.tmplData', {
    Labels: new Map(Object.entries(data.labels)),
    ExternalLabels: new Map(Object.entries(data.externalLabels)),
    ExternalURL: data.externalURL,
    Value: data.value,
  });
  try {
    return execute(parseTemplate(ALERT_DEFS + text, TEMPLATE_FUNCTION_NAMES), dot, templateFunctions(env), name);
  } catch (e) {
    if (e instanceof TemplateParseError) return `<error expanding template: error parsing template ${name}: template: ${name}:${e.line}: ${e.detail}>`;
    if (e instanceof TemplateExecError) return `<error expanding template: error executing template ${name}: ${e.message}>`;
    throw e;
  }
}
