// The data-protection checklist as the window shows it. Computed by the core from real state.

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface ChecklistFix {
  /** Button text, e.g. 'Rotate master key'. */
  readonly label: string;
  /** What the button does: an API method of shared/api.ts, or a CLI command to show. */
  readonly action: string;
}

export interface ChecklistItem {
  /** Stable id, e.g. 'tls', 'master-key', 'data-keys', 'plaintext-scan', 'tokens', 'console-mfa', 'pii'. */
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  /** What was measured, in a sentence: 'TLS 1.3, certificate expires 2027-11-20 (357 days)'. */
  readonly evidence: string;
  readonly fix?: ChecklistFix;
}
