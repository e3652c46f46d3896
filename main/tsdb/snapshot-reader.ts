// The worker side of an off-thread read (see ./head-snapshot.ts): a read-only connection of its own
// to the workspace's file (WAL: it never blocks the writer), the rows decrypted and decoded here,
// merged with the head snapshot the ingest thread sent.
import { compareLabels } from '../../shared/labels';
import { createCipher } from '../crypto/cipher';
import type { Cipher } from '../crypto/types';
import type { HeadSnapshot, StoreFile } from './head-snapshot';
import { mergeSamples, readRows, type RowSeries } from './querier';
import { Storage, type DataKeys } from './storage';
import type { SelectHints, SeriesData } from './types';

export class SnapshotReader {
  private readonly storage: Storage;

  /**
   * `dataKey(id)` fetches a copy of data key `id` from the ingest thread (asked only when a row
   * sealed with it is read); the copy is wiped once the cipher holds its own.
   */
  constructor(
    readonly file: StoreFile,
    dataKey: (id: number) => Uint8Array,
    nativeBinding?: string,
  ) {
    const ciphers = new Map<number, Cipher>();
    const keys: DataKeys = {
      current: 0, // never seals
      get(id) {
        let c = ciphers.get(id);
        if (!c) {
          const raw = Buffer.from(dataKey(id));
          try {
            c = createCipher(raw);
          } finally {
            raw.fill(0);
          }
          ciphers.set(id, c);
        }
        return c;
      },
    };
    // The layout given here is not used: a read-only open takes the file's own.
    this.storage = new Storage(file.path, file.workspaceId, file.encrypted ? keys : null, { bucketMs: 1, seriesPerPart: 1 }, { readonly: true, ...(nativeBinding ? { nativeBinding } : {}) });
  }

  /** The snapshot's series with their samples in [mint, maxt]: rows read now, then the head samples of the snapshot. */
  select(snap: HeadSnapshot, mint: number, maxt: number, hints?: SelectHints): SeriesData[] {
    const check = hints?.check;
    const n = snap.labels.length;
    if (n === 0) return [];
    const series: RowSeries[] = Array.from({ length: n }, (_, i) => ({ id: snap.ids[i]!, minT: snap.minT[i]!, lastT: snap.lastT[i]! }));
    const storage = this.storage;
    const rows = storage.read(() => {
      storage.refreshManifest();
      return readRows(storage, series, mint, maxt, check);
    });
    const out: SeriesData[] = [];
    for (let i = 0; i < n; i++) {
      check?.();
      const lo = snap.offsets[i]!;
      const hi = snap.offsets[i + 1]!;
      const head = { timestamps: snap.timestamps.subarray(lo, hi), values: snap.values.subarray(lo, hi) };
      const data = mergeSamples(rows.get(series[i]!.id) ?? [], series[i]!.id, head, mint, Math.min(maxt, series[i]!.lastT));
      if (data.timestamps.length > 0) out.push({ labels: snap.labels[i]!, timestamps: data.timestamps, values: data.values });
    }
    return out.sort((a, b) => compareLabels(a.labels, b.labels));
  }

  close(): void {
    this.storage.close();
  }
}
