// Backup and restore of one workspace on an open appliance.
//
// Restore reads the file twice: first to the end without writing anything (every frame
// authenticated, the payload's counts checked), then into a new workspace. A wrong passphrase,
// a flipped byte or a cut-short file therefore restores nothing; and should the second pass fail
// anyway, the half-made workspace is deleted (its key destroyed).
import type { Appliance } from '../core/appliance';
import { ControlError } from '../control/types';
import type { Appender } from '../tsdb/types';
import { labelsKey } from '../../shared/labels';
import { readBackupFile, writeBackupFile } from './backup-file';
import type { KdfParams } from './frames';
import { dumpWorkspace, type BackupManifest } from './payload';
import type { IngestRules } from '../discovery/ingest-rules';
import { AlertManagerStore } from '../alerting/definition-store';
import { controlDatabase } from '../retention/key-lifecycle';

/** A workspace's rule configuration as a backup carries it: rule-groups namespaces and its alert manager definition. */
interface RuleSettings {
  readonly ruleNamespaces: { readonly name: string; readonly data: string }[];
  /** The definition's text, credentials included (the backup file is encrypted as a whole). */
  readonly alertManager: string | null;
}

function alertManagers(appliance: Appliance): AlertManagerStore {
  const control = controlDatabase(appliance);
  return new AlertManagerStore(control.db, (id) => control.dataKeys(id));
}

function ruleSettings(appliance: Appliance, workspaceId: string): RuleSettings {
  const ns = appliance.ruleNamespaces;
  return {
    ruleNamespaces: ns.list(workspaceId).map((n) => ({ name: n.name, data: ns.describe(workspaceId, n.name).data })),
    alertManager: alertManagers(appliance).text(workspaceId),
  };
}

/** Puts a backup's rule configuration into the restored workspace; returns what could not be (with why). */
function restoreRuleSettings(appliance: Appliance, workspaceId: string, settings: Readonly<Record<string, unknown>>): { namespaces: number; alertManager: boolean; refused: string[] } {
  const refused: string[] = [];
  let namespaces = 0;
  const list = Array.isArray(settings.ruleNamespaces) ? (settings.ruleNamespaces as unknown[]) : [];
  for (const n of list) {
    const { name, data } = (n ?? {}) as { name?: unknown; data?: unknown };
    if (typeof name !== 'string' || typeof data !== 'string') {
      refused.push('a rule-groups namespace entry that is not {name, data}');
      continue;
    }
    try {
      appliance.ruleNamespaces.put(workspaceId, name, data);
      namespaces++;
    } catch (e) {
      // A file this version refuses (a stricter later validation): the data is restored all the same.
      refused.push(`rule-groups namespace ${name.slice(0, 64)}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  let alertManager = false;
  if (typeof settings.alertManager === 'string') {
    try {
      alertManagers(appliance).put(workspaceId, settings.alertManager);
      alertManager = true;
    } catch (e) {
      // Only the field: a refused definition may hold a credential anywhere.
      refused.push(`alert manager definition (field ${(e as { field?: string }).field ?? 'unknown'})`);
    }
  }
  return { namespaces, alertManager, refused };
}

export interface BackupProgress {
  readonly phase: 'backup' | 'verify' | 'restore';
  readonly series: number;
  readonly samples: number;
  readonly bytes: number;
}

export interface BackupResult {
  readonly workspaceId: string;
  readonly series: number;
  readonly samples: number;
  readonly bytes: number;
}

export interface BackupOptions {
  readonly kdf?: KdfParams;
  readonly onProgress?: (p: BackupProgress) => void;
  /** Extra settings to carry besides retention and ingest rules. */
  readonly settings?: Readonly<Record<string, unknown>>;
}

export async function backupWorkspace(appliance: Appliance, workspaceId: string, outPath: string, passphrase: string, opts: BackupOptions = {}): Promise<BackupResult> {
  const ws = appliance.control.describeWorkspace(workspaceId);
  const store = appliance.store(workspaceId);
  const manifest: BackupManifest = {
    format: 'ampule-workspace',
    version: 1,
    createdAt: new Date().toISOString(),
    workspace: { workspaceId: ws.workspaceId, alias: ws.alias, tags: ws.tags },
    settings: { retentionDays: appliance.settings.retentionDays(workspaceId), ingestRules: appliance.ingestRules.exportState(workspaceId), ...ruleSettings(appliance, workspaceId), ...opts.settings },
  };
  const rules = manifest.settings as unknown as RuleSettings;
  let series = 0, samples = 0, bytes = 0;
  const report = () => opts.onProgress?.({ phase: 'backup', series, samples, bytes });
  const payload = dumpWorkspace(manifest, store.querier(), (p) => {
    series = p.series;
    samples = p.samples;
  });
  bytes = await writeBackupFile(payload, outPath, passphrase, {
    ...(opts.kdf ? { kdf: opts.kdf } : {}),
    onBytes(b) {
      bytes = b;
      report();
    },
  });
  report();
  appliance.activity.append({ action: 'workspace.backup', outcome: 'ok', actor: 'cli', workspaceId, detail: `${series} series, ${samples} samples, ${rules.ruleNamespaces.length} rule-groups namespace(s)${rules.alertManager !== null ? ', alert manager definition' : ''}` });
  return { workspaceId, series, samples, bytes };
}

/** Reads the whole file, writing nothing; returns its manifest and counts. */
export async function verifyBackup(inPath: string, passphrase: string, onProgress?: (p: BackupProgress) => void): Promise<{ manifest: BackupManifest; series: number; samples: number }> {
  let manifest: BackupManifest | null = null;
  let series = 0, samples = 0, bytes = 0;
  for await (const item of readBackupFile(inPath, passphrase, (b) => (bytes = b))) {
    if (item.type === 'manifest') manifest = item.manifest;
    else if (item.type === 'series') {
      samples += item.series.timestamps.length + (item.series.histograms?.timestamps.length ?? 0);
      onProgress?.({ phase: 'verify', series, samples, bytes });
    } else series = item.series;
  }
  return { manifest: manifest!, series, samples };
}

const COMMIT_EVERY = 100_000;

/** Appends every series of an already verified backup file through `appender`. */
export async function loadBackup(inPath: string, passphrase: string, appender: Appender, onProgress?: (p: BackupProgress) => void): Promise<{ series: number; samples: number }> {
  let series = 0, samples = 0, bytes = 0, uncommitted = 0;
  let lastKey = '';
  for await (const item of readBackupFile(inPath, passphrase, (b) => (bytes = b))) {
    if (item.type !== 'series') continue;
    const { labels, timestamps, values, histograms } = item.series;
    let ref = 0;
    for (let i = 0; i < timestamps.length; i++) ref = appender.append(ref, labels, timestamps[i]!, values[i]!);
    const hn = histograms?.timestamps.length ?? 0;
    for (let i = 0; i < hn; i++) ref = appender.appendHistogram(ref, labels, histograms!.timestamps[i]!, histograms!.values[i]!);
    samples += timestamps.length + hn;
    uncommitted += timestamps.length + hn;
    // A series may span several records (long series, its histograms): count it once.
    const key = labelsKey(labels);
    if (key !== lastKey) series++;
    lastKey = key;
    if (uncommitted >= COMMIT_EVERY) {
      appender.commit();
      uncommitted = 0;
      onProgress?.({ phase: 'restore', series, samples, bytes });
    }
  }
  appender.commit();
  onProgress?.({ phase: 'restore', series, samples, bytes });
  return { series, samples };
}

export interface RestoreOptions {
  /** Restore beside the original (a new workspace id) even when the original still exists. */
  readonly asNew?: boolean;
  readonly onProgress?: (p: BackupProgress) => void;
  readonly actor?: string;
}

export interface RestoreResult extends BackupResult {
  readonly originalWorkspaceId: string;
  readonly manifest: BackupManifest;
  /** Rule-groups namespaces and whether the alert manager definition came back. */
  readonly rules: { readonly namespaces: number; readonly alertManager: boolean };
  /** Parts of the backup's rule configuration this version refused, with why (the data is restored). */
  readonly refused: readonly string[];
}

/**
 * Restores a backup into a new workspace. Workspace ids are immutable and never reused, so the
 * restored copy always gets a new id; without `asNew` the original must no longer exist (so a
 * restore is never mistaken for an in-place rollback).
 */
export async function restoreWorkspace(appliance: Appliance, inPath: string, passphrase: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const actor = opts.actor ?? 'cli';
  const checked = await verifyBackup(inPath, passphrase, opts.onProgress);
  const original = checked.manifest.workspace.workspaceId;
  if (!opts.asNew && appliance.control.listWorkspaces().some((w) => w.workspaceId === original)) {
    throw new ControlError('conflict', `workspace ${original} (from the backup) still exists; restore with --as-new to get a copy beside it, or delete the original first`);
  }
  const ws = appliance.control.createWorkspace({ alias: checked.manifest.workspace.alias, tags: checked.manifest.workspace.tags }, actor);
  try {
    const { retentionDays, ingestRules } = checked.manifest.settings as { retentionDays?: number | null; ingestRules?: { rules: IngestRules; hashKey: string } | null };
    if (typeof retentionDays === 'number') appliance.settings.setRetentionDays(ws.workspaceId, retentionDays);
    if (ingestRules) appliance.ingestRules.importState(ws.workspaceId, ingestRules);
    const loaded = await loadBackup(inPath, passphrase, appliance.store(ws.workspaceId).appender(), opts.onProgress);
    if (loaded.series !== checked.series || loaded.samples !== checked.samples) throw new Error('the backup file changed while it was being restored');
    // Rules after the data, so a restored server's first evaluation sees the whole history.
    const r = restoreRuleSettings(appliance, ws.workspaceId, checked.manifest.settings);
    const ruleDetail = `${r.namespaces} rule-groups namespace(s)${r.alertManager ? ', alert manager definition' : ''}${r.refused.length ? `, ${r.refused.length} part(s) refused` : ''}`;
    appliance.activity.append({ action: 'workspace.restore', outcome: 'ok', actor, workspaceId: ws.workspaceId, detail: `from backup of ${original}: ${loaded.series} series, ${loaded.samples} samples, ${ruleDetail}` });
    return { workspaceId: ws.workspaceId, originalWorkspaceId: original, manifest: checked.manifest, series: loaded.series, samples: loaded.samples, bytes: 0, rules: { namespaces: r.namespaces, alertManager: r.alertManager }, refused: r.refused };
  } catch (e) {
    appliance.control.deleteWorkspace(ws.workspaceId, actor);
    throw e;
  }
}
