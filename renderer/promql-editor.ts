// The PromQL editor of the Prometheus UI itself (@prometheus-io/codemirror-promql on CodeMirror 6):
// highlighting, completion of functions, metric names, label names and values, and inline errors
// from its linter. Completion data comes through our API contract (there is no HTTP in the
// desktop window), never through the editor's own fetch-based client.
//
// CSP: CodeMirror writes its styles at run time. In a document it would add <style> elements,
// which our `style-src 'self'` refuses; inside a shadow root it uses constructable stylesheets
// (adoptedStyleSheets, CSSOM), which CSP does not restrict — so the editor lives in a shadow root
// and the policy stays as strict as it is.
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, insertNewlineAndIndent } from '@codemirror/commands';
import { bracketMatching, defaultHighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { forEachDiagnostic, linter, lintKeymap, type Diagnostic } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { PromQLExtension, type PrometheusClient } from '@prometheus-io/codemirror-promql';
import type { AmpuleApi, MetricMetadataEntry, QueryIssue } from '../shared/api';
import { h } from './dom';
import { selectorOf, type EditorMatcher } from './explore-view';

/**
 * codemirror-promql's PrometheusClient over the workspace's API. Answers are cached for a minute
 * per workspace, as the Prometheus UI's own client does, so typing does not query on every key.
 */
export class WorkspaceClient implements PrometheusClient {
  private cache = new Map<string, { at: number; value: Promise<unknown> }>();

  constructor(
    private readonly api: AmpuleApi,
    private readonly workspaceId: () => string,
  ) {}

  private cached<T>(key: string, load: (ws: string) => Promise<T>, none: T = [] as unknown as T): Promise<T> {
    const ws = this.workspaceId();
    if (!ws) return Promise.resolve(none);
    const k = `${ws}\u0000${key}`;
    const hit = this.cache.get(k);
    if (hit && Date.now() - hit.at < 60_000) return hit.value as Promise<T>;
    const value = load(ws).catch(() => none); // completion is a help: a failure shows nothing
    this.cache.set(k, { at: Date.now(), value });
    return value;
  }

  labelNames(metricName?: string): Promise<string[]> {
    const match = selectorOf(metricName);
    return this.cached(`names ${match}`, (ws) => this.api.labelNames(ws, match));
  }

  labelValues(labelName: string, metricName?: string, matchers?: EditorMatcher[]): Promise<string[]> {
    const match = selectorOf(metricName, matchers, labelName);
    return this.cached(`values ${labelName} ${match}`, (ws) => this.api.labelValues(ws, labelName, match));
  }

  /** TYPE, HELP and UNIT per metric name as the senders described them (the completion shows type and help). */
  metricMetadata(): Promise<Record<string, MetricMetadataEntry[]>> {
    return this.cached('metadata', (ws) => this.api.metricMetadata(ws), {});
  }

  async series(metricName: string, matchers?: EditorMatcher[], labelName?: string): Promise<Map<string, string>[]> {
    const match = selectorOf(metricName, matchers)!;
    const list = await this.cached(`series ${match} ${labelName}`, (ws) => this.api.series(ws, match, 1000));
    return list.map((labels) => new Map(Object.entries(labels)));
  }

  async metricNames(prefix?: string): Promise<string[]> {
    const names = await this.cached('metrics', (ws) => this.api.metricNames(ws));
    return prefix ? names.filter((n) => n.includes(prefix)) : names;
  }

  flags(): Promise<Record<string, string>> {
    return Promise.resolve({});
  }

  forget(): void {
    this.cache.clear();
  }
}

export interface PromqlEditorOptions {
  readonly client: PrometheusClient;
  readonly label: string;
  readonly value?: string;
  readonly placeholder?: string;
  /** Enter (without Shift, with no completion open) runs the query. */
  readonly onSubmit: () => void;
  readonly onChange?: (text: string) => void;
  /**
   * Our engine's own syntax check, as a second linter: the editor's linter leaves out an error at
   * the end of the text (it is usually still being typed), but that is the one a missing
   * bracket gives, and our parser is the one that will run the query.
   */
  readonly check?: (text: string) => Promise<QueryIssue[]>;
}

const THEME = EditorView.theme({
  '&': { fontSize: '13.5px', background: '#fff', border: '1px solid #cbd5e1', borderRadius: '6px' },
  '&.cm-focused': { outline: '2px solid #2563eb', outlineOffset: '1px' },
  '.cm-content': { fontFamily: "ui-monospace, 'SFMono-Regular', 'DejaVu Sans Mono', Menlo, Consolas, monospace", padding: '7px 0', minHeight: '1.5em' },
  '.cm-line': { padding: '0 9px' },
  '.cm-scroller': { overflowX: 'auto' },
  '.cm-tooltip': { fontSize: '13px', border: '1px solid #cbd5e1', borderRadius: '6px', boxShadow: '0 6px 20px rgba(15, 23, 42, 0.15)' },
  // A little below the line, so the list never covers the underscores of what is being typed.
  '.cm-tooltip.cm-tooltip-autocomplete': { marginTop: '4px' },
  '.cm-tooltip.cm-tooltip-autocomplete > ul': { maxWidth: 'min(560px, 90vw)', maxHeight: '16em' },
  '.cm-tooltip-autocomplete ul li[aria-selected]': { background: '#dbeafe', color: '#0f172a' },
  '.cm-completionDetail': { color: '#64748b', fontStyle: 'normal', marginLeft: '0.8em' },
  '.cm-completionInfo': { maxWidth: 'min(400px, 80vw)' },
  '.cm-diagnostic-error': { borderLeftColor: '#b91c1c' },
  '.cm-placeholder': { color: '#94a3b8' },
});

function engineLinter(check: (text: string) => Promise<QueryIssue[]>) {
  return linter(async (view): Promise<Diagnostic[]> => {
    const text = view.state.doc.toString();
    if (!text.trim()) return [];
    const found = await check(text).catch(() => [] as QueryIssue[]);
    if (view.state.doc.toString() !== text) return [];
    const len = text.length;
    return found.map((i) => {
      const from = Math.max(0, Math.min(i.from, len - 1));
      return { from, to: Math.max(from + 1, Math.min(i.to, len)), severity: 'error', message: i.message, source: 'PromQL' };
    });
  });
}

/** An editor in its own shadow root (see the CSP note above); `el` is the host to place in the page. */
export class PromqlEditor {
  readonly el: HTMLElement;
  readonly view: EditorView;
  /** The linter's first message, mirrored as text for screen readers and tests. */
  readonly issues: HTMLElement;

  constructor(opts: PromqlEditorOptions) {
    this.el = h('div', { class: 'promql-editor' });
    this.issues = h('div', { class: 'query-issues', role: 'status', 'aria-live': 'polite' });
    const shadow = this.el.attachShadow({ mode: 'open' });
    const promql = new PromQLExtension().activateCompletion(true).activateLinter(true).setComplete({ remote: opts.client });
    const submit = () => {
      opts.onSubmit();
      return true;
    };
    this.view = new EditorView({
      root: shadow,
      parent: shadow,
      state: EditorState.create({
        doc: opts.value ?? '',
        extensions: [
          promql.asExtension(),
          ...(opts.check ? [engineLinter(opts.check)] : []),
          history(),
          closeBrackets(),
          bracketMatching(),
          autocompletion({ activateOnTyping: true }),
          syntaxHighlighting(defaultHighlightStyle),
          placeholder(opts.placeholder ?? ''),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ 'aria-label': opts.label }),
          keymap.of([
            { key: 'Enter', run: submit },
            { key: 'Shift-Enter', run: insertNewlineAndIndent },
            ...closeBracketsKeymap,
            ...defaultKeymap,
            ...historyKeymap,
            ...completionKeymap,
            ...lintKeymap,
          ]),
          THEME,
          EditorView.updateListener.of((u) => {
            if (u.docChanged) opts.onChange?.(u.state.doc.toString());
            this.showIssues(u.state);
          }),
        ],
      }),
    });
  }

  get value(): string {
    return this.view.state.doc.toString();
  }

  set value(text: string) {
    this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: text } });
  }

  focus(): void {
    this.view.focus();
  }

  destroy(): void {
    this.view.destroy();
  }

  private showIssues(state: EditorState): void {
    let first = '';
    forEachDiagnostic(state, (d) => {
      if (!first) first = `${d.severity === 'error' ? 'Error' : 'Note'} at character ${d.from + 1}: ${d.message}`;
    });
    if (this.issues.textContent !== first) this.issues.textContent = first;
  }
}
