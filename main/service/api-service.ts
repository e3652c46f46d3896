// The window's API contract implemented over an open appliance. One instance per caller kind
// (desktop window, web console), so the activity log says who acted.
import {
  ApiError,
  type AmpuleApi,
  type RuleNamespaceInfo,
  type ForwardDestinationStatus,
  type Settings,
  type WorkspaceSummary,
} from '../../shared/api';
import type { Appliance } from '../core/appliance';
import type { Workspace } from '../control/types';
import { readCaCertPem } from '../tls/local-ca';
import { fingerprintSha256 } from '../tls/certificates';
import { IngestMonitor } from './ingest-monitor';
import { describeLimits } from '../ingest/limits';
import { checkSyntax, metricMetadataOf, readMetadata, runInstant, runRange, type QueryThreads } from './query';
import { ProtectionChecks } from './protection';
import { describeRules, type RulesOf } from './rules';
import { RuleFileError } from '../rules/rule-file';
import type { RuleNamespace } from '../rules/namespace-store';

export interface ServiceOptions {
  /** Recorded as the actor of every change: 'desktop', 'console:admin'. */
  readonly actor: string;
  /** The HTTPS listener's base URL (https://localhost:9443), or null when it is off. */
  readonly listenUrl: () => string | null;
  readonly monitor: IngestMonitor;
  readonly protection: ProtectionChecks;
  readonly consoleStatus: () => Settings['console'];
  readonly version?: string;
  /** A workspace's running rule evaluation (none when the host runs no rules). */
  readonly rules?: RulesOf;
  /** Forwarding status per workspace, from the host that runs the queues. */
  readonly forwardStatus?: (workspaceId: string) => ForwardDestinationStatus[];
  /** The host's query threads, which answer the window's queries and metadata reads (none: this thread). */
  readonly queryThreads?: QueryThreads;
}

export function createApiService(appliance: Appliance, opts: ServiceOptions): AmpuleApi {
  const { control } = appliance;
  const actor = opts.actor;
  const threads = opts.queryThreads ?? null;

  function summary(w: Workspace): WorkspaceSummary {
    let stats = { series: 0, samples: 0, bytesOnDisk: 0 };
    try {
      stats = appliance.store(w.workspaceId).stats();
    } catch {
      /* a store being created or deleted: show zeros */
    }
    return {
      workspaceId: w.workspaceId,
      alias: w.alias,
      status: w.status,
      createdAt: w.createdAt,
      tags: w.tags,
      activeSeries: stats.series,
      samplesPerSecond: opts.monitor.currentRate(w.workspaceId),
      bytesOnDisk: stats.bytesOnDisk,
    };
  }

  function ownToken(workspaceId: string, tokenId: string): void {
    if (!control.listTokens(workspaceId).some((t) => t.tokenId === tokenId)) {
      throw new ApiError('not_found', `workspace ${workspaceId} has no token ${tokenId}`, 'tokenId');
    }
  }

  const api: AmpuleApi = {
    async listWorkspaces() {
      return control.listWorkspaces().map(summary);
    },
    async createWorkspace(input) {
      return summary(control.createWorkspace({ alias: input.alias, ...(input.tags ? { tags: input.tags } : {}) }, actor));
    },
    async describeWorkspace(workspaceId) {
      return summary(control.describeWorkspace(workspaceId));
    },
    async renameWorkspace(workspaceId, alias) {
      return summary(control.updateWorkspace(workspaceId, { alias }, actor));
    },
    async setWorkspaceTags(workspaceId, tags) {
      const current = control.describeWorkspace(workspaceId);
      const removeTags = Object.keys(current.tags).filter((k) => !(k in tags));
      return summary(control.updateWorkspace(workspaceId, { tags, removeTags }, actor));
    },
    async deleteWorkspace(workspaceId, confirmation) {
      const w = control.describeWorkspace(workspaceId);
      if (confirmation !== w.alias && confirmation !== w.workspaceId) {
        throw new ApiError('invalid', 'the confirmation does not match: type the workspace alias or its id exactly', 'confirmation');
      }
      control.deleteWorkspace(workspaceId, actor);
      opts.monitor.forget(workspaceId);
      appliance.discovery.forget(workspaceId);
    },
    async workspaceEndpoints(workspaceId) {
      control.describeWorkspace(workspaceId);
      const base = opts.listenUrl();
      const caPem = readCaCertPem(appliance.dataDir);
      return {
        remoteWriteUrl: base ? `${base}/workspaces/${workspaceId}/api/v1/remote_write` : null,
        prometheusUrl: base ? `${base}/workspaces/${workspaceId}` : null,
        caPem,
        caFingerprint: caPem ? fingerprintSha256(caPem) : null,
      };
    },
    async workspaceStats(workspaceId, range) {
      control.describeWorkspace(workspaceId);
      if (range.end < range.start) throw new ApiError('invalid', 'end must not be before start', 'end');
      if ((range.end - range.start) / range.step > 11_000) throw new ApiError('invalid', 'too many points: use a larger step', 'step');
      return opts.monitor.series(workspaceId, range);
    },

    async getLimits(workspaceId) {
      return describeLimits(control.getLimits(workspaceId));
    },
    async setLimits(workspaceId, limits) {
      // The tenant hears of the change from the control plane and refreshes its cached limits.
      return describeLimits(control.setLimits(workspaceId, limits, actor));
    },

    async forwardingStatus(workspaceId) {
      control.describeWorkspace(workspaceId); // not_found for an unknown workspace
      return opts.forwardStatus?.(workspaceId) ?? [];
    },

    async listTokens(workspaceId) {
      return control.listTokens(workspaceId);
    },
    async createToken(workspaceId, input) {
      const expiresAt = input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86_400_000) : null;
      const { token: secret, ...token } = control.createToken(workspaceId, { scopes: input.scopes, name: input.name, expiresAt }, actor);
      return { token, secret };
    },
    async revokeToken(workspaceId, tokenId) {
      ownToken(workspaceId, tokenId);
      control.revokeToken(tokenId, actor);
    },

    async query(workspaceId, q) {
      return runInstant(appliance.store(workspaceId).querier(), q.query, q.time ?? Date.now() / 1000, threads);
    },
    async queryRange(workspaceId, q) {
      return runRange(appliance.store(workspaceId).querier(), q.query, q.start, q.end, q.step, threads);
    },
    async checkQuery(query) {
      return checkSyntax(query);
    },
    async metricNames(workspaceId) {
      return readMetadata<string[]>(appliance.store(workspaceId).querier(), threads, 'label/__name__/values', undefined);
    },
    async labelNames(workspaceId, match) {
      return readMetadata<string[]>(appliance.store(workspaceId).querier(), threads, 'labels', match);
    },
    async labelValues(workspaceId, name, match) {
      return readMetadata<string[]>(appliance.store(workspaceId).querier(), threads, `label/${encodeURIComponent(name)}/values`, match);
    },
    async series(workspaceId, match, limit) {
      return readMetadata<Record<string, string>[]>(appliance.store(workspaceId).querier(), threads, 'series', match, limit);
    },
    async metricMetadata(workspaceId, metric) {
      return metricMetadataOf(appliance.tenant(workspaceId).metadata, metric);
    },
    async workspaceRules(workspaceId) {
      control.describeWorkspace(workspaceId);
      return describeRules(opts.rules?.(workspaceId) ?? null, appliance.ruleNamespaces.list(workspaceId).map(namespaceInfo));
    },
    async ruleNamespace(workspaceId, name) {
      control.describeWorkspace(workspaceId);
      const ns = appliance.ruleNamespaces.describe(workspaceId, name);
      return { ...namespaceInfo(ns), data: ns.data };
    },
    async putRuleNamespace(workspaceId, name, data) {
      control.describeWorkspace(workspaceId);
      try {
        const ns = appliance.ruleNamespaces.put(workspaceId, name, data);
        appliance.activity.append({ action: 'rule_groups.put', outcome: 'ok', actor, workspaceId, detail: `namespace ${name}: ${ns.groups} group(s), ${ns.rules} rule(s)` });
        return namespaceInfo(ns);
      } catch (e) {
        if (!(e instanceof RuleFileError)) throw e;
        appliance.activity.append({ action: 'rule_groups.put', outcome: 'error', actor, workspaceId, detail: `namespace ${name}: rule file refused (${e.problems.length} problem(s))` });
        throw new ApiError('invalid', `the rule file was not stored: ${e.problems.length} problem(s):\n${e.message}`, 'data');
      }
    },
    async deleteRuleNamespace(workspaceId, name) {
      control.describeWorkspace(workspaceId);
      appliance.ruleNamespaces.delete(workspaceId, name);
      appliance.activity.append({ action: 'rule_groups.delete', outcome: 'ok', actor, workspaceId, detail: `namespace ${name}` });
    },

    async checklist() {
      return opts.protection.checklist(opts.listenUrl());
    },
    async startSelfTest() {
      return opts.protection.startSelfTest();
    },
    async selfTestProgress() {
      return opts.protection.selfTestProgress();
    },
    async piiFindings() {
      return opts.protection.findings();
    },
    async listActivity(filter) {
      return appliance.activity.list(filter);
    },
    async verifyActivity() {
      return opts.protection.verifyActivity();
    },

    async getSettings(): Promise<Settings> {
      const caPem = readCaCertPem(appliance.dataDir);
      const mk = appliance.masterKey;
      return {
        version: opts.version ?? '0.1.0',
        dataDir: appliance.dataDir,
        masterKey: { kind: mk.kind, location: mk.location },
        tls: { caPem, caFingerprint: caPem ? fingerprintSha256(caPem) : null, ...opts.protection.tlsSummary() },
        console: opts.consoleStatus(),
        listenUrl: opts.listenUrl(),
      };
    },
    async rotateMasterKey() {
      if (appliance.masterKey.kind === 'file') {
        throw new ApiError('invalid', 'the master key is in a key file: rotation needs the next key file', undefined, "run 'ampule key rotate --new-master-key-file FILE' on the server");
      }
      appliance.rotateMasterKey({ actor });
    },
  };
  return Object.freeze(api);
}

function namespaceInfo(n: RuleNamespace): RuleNamespaceInfo {
  return { name: n.name, groups: n.groups, rules: n.rules, createdAt: n.createdAt, modifiedAt: n.modifiedAt };
}
