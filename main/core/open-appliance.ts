// Opens a data directory: its folder (0700), the master key (key file if given, the sealed key when
// a passphrase is given, else the OS keychain; made on first start), control.db, and the
// workspaces' stores on demand.
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ControlDatabase, NO_ACTIVITY } from '../control/control-plane';
import { inIngestGap } from './ingest-gap';
import { keychainSlots } from '../crypto/keychain';
import { keyFileSlots } from '../crypto/key-file';
import { sealedKeyPath, sealedKeySlots } from '../crypto/sealed-key';
import { KeyStoreError } from '../crypto/types';
import { rotateMasterKey, unlockMasterKey, type MasterKeySlots } from '../crypto/rotation';
import type { Appliance, ApplianceOptions, IngestRejectedListener } from './appliance';
import type { WorkspaceStore } from './workspace-store';
import { Tenant } from './tenant';
import { openTsdb, type BlobName } from '../tsdb';
import type { Matcher } from '../tsdb/types';
import { DEFAULT_LIMITS } from '../ingest/limits';
import { ActivityLogSink } from '../audit/sink';
import type { ActivityLog } from '../audit/activity-log';
import { withActivityKey } from '../audit/log-key';
import { tlsKeyCipher, withTlsKey } from '../tls/tls-key';
import type { Cipher } from '../crypto/types';
import { WorkspaceSettings } from '../control/workspace-settings';
import { IngestRuleStore } from '../discovery/rules-store';
import { RuleNamespaceStore } from '../rules/namespace-store';
import { DiscoveryIndex } from '../discovery/scan';

export const DEFAULT_KEYCHAIN_SERVICE = 'Ampule';
export const DEFAULT_RETENTION_MS = 150 * 86_400_000;
/** How often each store checks whether its head is due a checkpoint (constant time when not). */
const CHECKPOINT_CHECK_MS = 10_000;

/** Where a workspace's store files live; the whole folder goes when the workspace is deleted. */
export function workspaceDir(dataDir: string, workspaceId: string): string {
  return join(dataDir, 'workspaces', workspaceId);
}

export async function openAppliance(opts: ApplianceOptions): Promise<Appliance> {
  const dataDir = resolve(opts.dataDir);
  if (!opts.masterKeyFile && opts.masterKeyPassphrase === undefined && existsSync(sealedKeyPath(dataDir))) {
    // Never fall through to the keychain (which would report a missing key) when the key is sealed here.
    throw new KeyStoreError('missing', `The master key of ${dataDir} is sealed by a passphrase (${sealedKeyPath(dataDir)}), and none was given.`, 'give the passphrase: on a terminal, --passphrase-file FILE (ampule serve), AMPULE_PASSPHRASE_FILE=FILE or the systemd credential ampule-passphrase');
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32') chmodSync(dataDir, 0o700);
  const activity = new ActivityLogSink(opts.activity ?? NO_ACTIVITY);
  const tenants = new Map<string, { tenant: Tenant; maintain(): Promise<void>; checkpoint(): Promise<void>; close(): void }>();
  const rejectedListeners = new Set<IngestRejectedListener>();

  const closeStore = (id: string) => {
    tenants.get(id)?.close();
    tenants.delete(id);
  };
  const control = ControlDatabase.open(join(dataDir, 'control.db'), {
    activity,
    removeWorkspaceData(id) {
      closeStore(id);
      rmSync(workspaceDir(dataDir, id), { recursive: true, force: true });
    },
    onLimitsChanged(id) {
      const open = tenants.get(id);
      if (!open) return;
      const overrides = control.getLimits(id);
      // The store applies the out-of-order window from its opening: reopen it on the next use.
      if ((overrides.outOfOrderWindowMs ?? DEFAULT_LIMITS.outOfOrderWindowMs) !== open.tenant.limits.outOfOrderWindowMs) closeStore(id);
      else open.tenant.refreshLimits(overrides);
    },
  });
  const settings = new WorkspaceSettings(control.db);
  const ingestRules = new IngestRuleStore(control.db, (id) => control.dataKeys(id));
  const ruleNamespaces = new RuleNamespaceStore(control.db, (id) => control.dataKeys(id));
  const discovery = new DiscoveryIndex();
  let slots: MasterKeySlots;
  let activityLog: ActivityLog;
  let tlsKeys!: Cipher;
  try {
    const service = opts.keychainService ?? process.env.AMPULE_KEYCHAIN_SERVICE ?? DEFAULT_KEYCHAIN_SERVICE;
    // One writer at a time: two processes starting on a new data directory must not both make a key.
    const unlocked = control.exclusive(() => {
      slots = opts.masterKeyFile
        ? keyFileSlots(opts.masterKeyFile)
        : opts.masterKeyPassphrase !== undefined
          ? sealedKeySlots(dataDir, opts.masterKeyPassphrase)
          : keychainSlots(service, control.storeId());
      const master = unlockMasterKey(slots, control.keys);
      control.keys.useMasterKey(master);
      return { tls: tlsKeyCipher(control.db, master), log: activity.open(control.db, master) };
    });
    tlsKeys = unlocked.tls;
    activityLog = unlocked.log;
    control.finishPendingDeletes();
  } catch (e) {
    control.close();
    throw e;
  }
  let closed = false;
  const retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;

  function tenant(workspaceId: string): Tenant {
    if (closed) throw new Error('the appliance is closed');
    const open = tenants.get(workspaceId);
    if (open) return open.tenant;
    const keys = control.dataKeys(workspaceId); // not_found for an unknown workspace
    const overrides = control.getLimits(workspaceId);
    const retention = settings.retentionMs(workspaceId, retentionMs);
    const dir = workspaceDir(dataDir, workspaceId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tsdb = openTsdb({
      path: join(dir, 'tsdb.db'),
      workspaceId,
      keys,
      retentionMs: retention,
      outOfOrderWindowMs: overrides.outOfOrderWindowMs ?? DEFAULT_LIMITS.outOfOrderWindowMs,
    });
    const store: WorkspaceStore = {
      workspaceId,
      appender: () => tsdb.appender(),
      querier: () => tsdb.querier(),
      committed: () => tsdb.committed(),
      stats: () => tsdb.stats(),
      deleteSeries: (matchers: readonly Matcher[], mint: number, maxt: number) => tsdb.deleteSeries(matchers, mint, maxt),
      readBlob: (name: BlobName) => tsdb.readBlob(name),
      writeBlob: (name: BlobName, plain: Buffer) => tsdb.writeBlob(name, plain),
      writeBlobs: (changes) => tsdb.writeBlobs(changes),
      reencrypt: (onProgress?: (done: number, total: number) => void) => tsdb.reencrypt(onProgress),
    };
    const t = new Tenant(store, overrides, retention, {
      rules: () => ingestRules.compiled(workspaceId),
      onNewSeries: (labels) => discovery.observeNewSeries(workspaceId, [labels]),
      onRejected: (reason, count) => {
        for (const l of rejectedListeners) l(workspaceId, reason, count);
      },
    });
    const opened = {
      tenant: t,
      async maintain() {
        await tsdb.maintain(); // in turns, retention included: remote write goes on
        if (tenants.get(workspaceId) !== opened) return; // closed meanwhile
        t.exemplars.flush(Date.now());
      },
      checkpoint: () => tsdb.checkpointIfDue(),
      close: () => {
        try {
          t.exemplars.flush(Date.now(), true);
        } finally {
          tsdb.close();
        }
      },
    };
    tenants.set(workspaceId, opened);
    return t;
  }
  // Each store's turn comes in a gap between its remote-write requests (./ingest-gap), and is skipped
  // when the store was closed meanwhile.
  const everyStore = (work: (open: { maintain(): Promise<void>; checkpoint(): Promise<void> }) => Promise<void>) => () => {
    for (const [id, open] of tenants) {
      const failed = (e: unknown): void => {
        activity.record({ action: 'store.maintain', workspaceId: id, actor: 'system', outcome: 'failure', details: { error: e instanceof Error ? e.name : 'internal' } });
      };
      const run = (): void => {
        try {
          void work(open).catch(failed); // maintenance and checkpoints go on over several turns
        } catch (e) {
          failed(e);
        }
      };
      inIngestGap(() => open.tenant.ingestIdleMs(), run, () => closed || tenants.get(id) !== open);
    }
  };
  // Cut complete chunks out of the log and drop expired buckets; never keeps the process alive.
  const maintenance = setInterval(everyStore((open) => open.maintain()), opts.maintenanceIntervalMs ?? 5 * 60_000);
  maintenance.unref();
  // Between maintenance runs, checkpoint a head whose log has grown (a restart replays that log).
  const checkpoints = setInterval(everyStore((open) => open.checkpoint()), CHECKPOINT_CHECK_MS);
  checkpoints.unref();

  return {
    dataDir,
    get masterKey() {
      return slots.current;
    },
    control,
    activity: activityLog,
    tlsKeys,
    settings,
    ingestRules,
    ruleNamespaces,
    discovery,
    closeStore,
    rotateMasterKey({ newKeyFile, actor = 'local', onProgress } = {}) {
      try {
        const current = unlockMasterKey(slots, control.keys);
        const next = newKeyFile ? keyFileSlots(newKeyFile) : null;
        if (next && slots.pending) {
          throw new Error('--new-master-key-file is for a data directory opened with --master-key-file; the OS keychain makes its own new key');
        }
        const newKeyBytes = next?.current.load() ?? undefined;
        const progress = onProgress ? { onStep: onProgress, onRewrap: (n: number) => onProgress(`rewrap:${n}`) } : {};
        control.keys.useMasterKey(rotateMasterKey(slots, withTlsKey(control.db, withActivityKey(control.db, control.keys)), current, { ...progress, ...(newKeyBytes ? { newKeyBytes } : {}) }));
        if (next) slots = next;
      } catch (e) {
        activity.record({ action: 'key.rotate', actor, outcome: 'failure', details: { error: e instanceof Error ? e.name : 'internal' } });
        throw e;
      }
      activity.record({ action: 'key.rotate', actor, outcome: 'success', details: { provider: slots.current.kind } });
    },
    tenant,
    store: (workspaceId) => tenant(workspaceId).store,
    onIngestRejected(listener) {
      rejectedListeners.add(listener);
      return () => rejectedListeners.delete(listener);
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(maintenance);
      clearInterval(checkpoints);
      for (const id of [...tenants.keys()]) closeStore(id);
      activityLog.close();
      control.close();
    },
  };
}
