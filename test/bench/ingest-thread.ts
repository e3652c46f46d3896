// bench:ingest's `thread` target, bundled per checkout and run in a process of its own: the
// benchmark's remote-write bodies through Ingester.ingest into a real encrypted store, one caller
// per connection each awaiting its answer, as the server's ingest thread takes them but with no
// HTTP, no TLS and no sending client. Prints one JSON line: samples, wall and CPU milliseconds.
//   node ingest-thread.mjs BODIES_FILE DATA_DIR
// BODIES_FILE: per body, its connection (u32 LE), its length (u32 LE) and its snappy bytes.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCipher } from '../../main/crypto/cipher';
import { DEFAULT_LIMITS } from '../../main/ingest/limits';
import { Ingester } from '../../main/ingest/remote-write';
import { openTsdb } from '../../main/tsdb/index';

const [file, dataDir] = process.argv.slice(2) as [string, string];
const raw = readFileSync(file);
const connections: Buffer[][] = [];
for (let at = 0; at < raw.length; ) {
  const conn = raw.readUInt32LE(at);
  const len = raw.readUInt32LE(at + 4);
  (connections[conn] ??= []).push(raw.subarray(at + 8, at + 8 + len));
  at += 8 + len;
}
const cipher = createCipher(randomBytes(32));
const db = openTsdb({ path: join(dataDir, 'tsdb.db'), workspaceId: 'ws-bench-thread', keys: { current: 1, get: () => cipher } });
const ingester = new Ingester(db.appender());
const limits = { ...DEFAULT_LIMITS, ingestionRate: 1e12, ingestionBurst: 1e12, activeSeries: 1e9 };
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const cpu0 = cpuMs();
const t0 = performance.now();
let samples = 0;
await Promise.all(
  connections.map(async (bodies) => {
    for (const body of bodies) {
      const res = await ingester.ingest({ body, contentType: 'application/x-protobuf', contentEncoding: 'snappy', version: undefined }, limits, Date.now());
      if (res.status !== 204) throw new Error(`ingest thread: ${res.status} ${res.message}`);
      samples += res.samplesWritten;
    }
  }),
);
const wallMs = performance.now() - t0;
const cpu = cpuMs() - cpu0;
db.close();
process.stdout.write(JSON.stringify({ samples, wallMs, cpuMs: cpu }) + '\n');
