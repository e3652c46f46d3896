// Forwarding benchmark (`npm run bench:forward`). Not a test: it prints figures.
//
// The same N samples (BENCH_FORWARD_SERIES series × 200 samples at 15 s, 50 minutes from a minute ahead)
// go into Ampule and into Debian's Prometheus 2.42, each of which forwards them by remote write
// over TLS to the same receiver (Debian's VictoriaMetrics 1.79, -tls) on loopback, in one run:
//  - Ampule: committed through the workspace appender (1,000-sample commits) with the durable
//    queue following the committed log; CPU of this process (ingest + forward), and the same
//    ingest with no destination, so the difference is what forwarding costs; then forwarding alone
//    (a destination added at sequence 0 after the data is committed).
//  - Prometheus: fed by remote write (its receiver), forwarding from its own WAL with
//    remote_write; CPU of the prometheus process from /proc, with and without remote_write.
// Both forward with max_samples_per_send 2000. Prints samples/s, CPU seconds per million samples,
// and forwarding's extra cost on ingest. Durability differs: Ampule's queue is read from committed,
// fsynced data and its position is persisted per acknowledgement; Prometheus forwards from its WAL
// as written (no fsync) and keeps no position across restarts.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Appliance } from '../../main/core/appliance';
import { openAppliance } from '../../main/core/open-appliance';
import { Batch } from '../../main/forward/batch';
import { parseDestination } from '../../main/forward/destination';
import { RemoteWriteEncoder } from '../../main/forward/encode';
import { senderFor } from '../../main/forward/sender-for';
import { destinationStoreOf, startForwarding } from '../../main/host/forwarding';
import { labelsFromRecord, type Labels } from '../../shared/labels';
import { tempKeyFileDir } from '../main/core/key-file-dir';
import { httpsGet, startPrometheus, startVictoriaMetrics, type RealReceiver } from '../main/forward/real-receivers';
import { makeTls, type TlsFixture } from '../main/forward/tls-fixture';

const SERIES = Number(process.env.BENCH_FORWARD_SERIES ?? 5000);
const PER_SERIES = 200;
const N = SERIES * PER_SERIES;
const STEP = 15_000;
// From a minute ahead on: Prometheus's WAL watcher forwards only samples newer than its queue's start.
const START = Math.floor(Date.now() / 60_000) * 60_000 + 60_000;
const QUEUE = 'queue_config: { max_samples_per_send: 2000, batch_send_deadline: 1s }';

const labels: Labels[] = Array.from({ length: SERIES }, (_, i) => labelsFromRecord({ __name__: 'bench_fwd', instance: `host-${i % 100}`, job: 'bench', series: String(i) }));
const value = (i: number, j: number) => (i * 7 + j) % 1000;

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const procCpu = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function writeAll(app: Appliance, ws: string): void {
  const a = app.store(ws).appender();
  let n = 0;
  for (let j = 0; j < PER_SERIES; j++) {
    for (let i = 0; i < SERIES; i++) {
      a.append(0, labels[i]!, START + j * STEP, value(i, j));
      if (++n % 1000 === 0) a.commit();
    }
  }
  a.commit();
}

async function ampule(tls: TlsFixture, vm: RealReceiver): Promise<string[]> {
  const made = tempKeyFileDir('ampule-bench-fwd-');
  const app = await openAppliance({ dataDir: join(made.dir, 'data'), masterKeyFile: made.keyFile });
  const fwd = startForwarding(app);
  const store = destinationStoreOf(app);
  const dest = (name: string) => `name: ${name}\nurl: ${vm.writeUrl.href}\ntls_config: { ca: ${JSON.stringify(tls.caPem)} }\n${QUEUE}\n`;
  const sent = (ws: string) => fwd.status(ws).reduce((a, s) => a + s.samples.sent, 0);
  const out: string[] = [];
  try {
    // 1. Ingest alone.
    const wsA = app.control.createWorkspace({ alias: 'ingest-only' }).workspaceId;
    let c0 = cpu();
    let t0 = performance.now();
    writeAll(app, wsA);
    const ingestCpu = cpu() - c0;
    out.push(`Ampule ingest alone: ${(N / ((performance.now() - t0) / 1000) / 1e6).toFixed(2)} M samples/s wall, ${((ingestCpu / N) * 1e6).toFixed(2)} CPU s per million`);

    // 2. Forwarding alone, from the committed log of workspace A.
    store.add(wsA, dest('a'), { seq: 0, ackedMaxT: null });
    c0 = cpu();
    t0 = performance.now();
    while (sent(wsA) < N) await sleep(20);
    let wall = (performance.now() - t0) / 1000;
    const fwdCpu = cpu() - c0;
    out.push(`Ampule forwarding alone (from the committed log): ${Math.round(N / wall)} samples/s, ${((fwdCpu / N) * 1e6).toFixed(2)} CPU s per million (${fwd.status(wsA)[0]!.shards} shard(s) at the end)`);

    // 3. Ingest while forwarding.
    const wsB = app.control.createWorkspace({ alias: 'ingest-forward' }).workspaceId;
    store.add(wsB, dest('b'), { seq: app.store(wsB).committed().nextSeq(), ackedMaxT: Date.now() });
    await sleep(500);
    c0 = cpu();
    t0 = performance.now();
    writeAll(app, wsB);
    const ingestWall = (performance.now() - t0) / 1000;
    const ingestWithCpu = cpu() - c0;
    while (sent(wsB) < N) await sleep(20);
    wall = (performance.now() - t0) / 1000;
    const both = cpu() - c0;
    out.push(`Ampule ingest while forwarding: ingest ${(N / ingestWall / 1e6).toFixed(2)} M samples/s wall, ${((ingestWithCpu / N) * 1e6).toFixed(2)} CPU s per million during the writes (alone: ${((ingestCpu / N) * 1e6).toFixed(2)}); all forwarded after ${wall.toFixed(1)} s; ingest + forward ${((both / N) * 1e6).toFixed(2)} CPU s per million, forwarding's extra ${(((both - ingestCpu) / N) * 1e6).toFixed(2)}`);
    return out;
  } finally {
    await fwd.close();
    app.close();
    rmSync(made.dir, { recursive: true, force: true });
  }
}

/** Feeds Prometheus by remote write (its receiver), time slices oldest first. */
async function feed(p: RealReceiver, tls: TlsFixture): Promise<void> {
  const d = parseDestination({ url: p.writeUrl.href, tls_config: { ca: tls.caPem }, queue_config: { max_shards: 4 } });
  const sender = senderFor(d, {});
  const enc = new RemoteWriteEncoder();
  const b = new Batch();
  try {
    for (let j = 0; j < PER_SERIES; j++) {
      for (let from = 0; from < SERIES; from += 2000) {
        b.clear();
        for (let i = from; i < Math.min(SERIES, from + 2000); i++) b.sample(b.add(labels[i]!), START + j * STEP, value(i, j));
        const r = await sender.send(enc.encode(b, d.protobufMessage), b.samples);
        if (r.kind !== 'sent') throw new Error(`Prometheus refused a batch: ${r.reason}`);
      }
    }
  } finally {
    sender.close();
  }
}

async function promSent(p: RealReceiver, tls: TlsFixture): Promise<number> {
  const r = await httpsGet(new URL('/metrics', p.base), tls.caPem);
  let n = 0;
  for (const line of r.body.split('\n')) if (line.startsWith('prometheus_remote_storage_samples_total{') || line.startsWith('prometheus_remote_storage_succeeded_samples_total{')) n += Number(line.split(' ').pop());
  return n;
}

async function prometheus(tls: TlsFixture, vm: RealReceiver): Promise<string[]> {
  const out: string[] = [];
  const alone = await startPrometheus(tls, 'bench-prom-alone');
  let c0 = procCpu(alone.proc.pid!);
  let t0 = performance.now();
  await feed(alone, tls);
  const ingestCpu = procCpu(alone.proc.pid!) - c0;
  out.push(`Prometheus ingest alone (remote-write receiver): ${(N / ((performance.now() - t0) / 1000) / 1e6).toFixed(2)} M samples/s wall, ${((ingestCpu / N) * 1e6).toFixed(2)} CPU s per million`);
  await alone.stop();

  const rw = (port: number) => `global:\n  scrape_interval: 1h\nremote_write:\n  - url: ${vm.writeUrl.href}\n    tls_config: { ca_file: ${tls.caFile} }\n    ${QUEUE}\n# ${port}\n`;
  const p = await startPrometheus(tls, 'bench-prom-forward', rw);
  try {
    await sleep(2000);
    c0 = procCpu(p.proc.pid!);
    t0 = performance.now();
    await feed(p, tls);
    // Until all are sent, or the count has not moved for 5 s (Prometheus may skip some: reported).
    let last = -1;
    let lastChange = performance.now();
    let wall = 0;
    for (;;) {
      const n = await promSent(p, tls);
      if (n !== last) {
        last = n;
        lastChange = performance.now();
        wall = (lastChange - t0) / 1000;
      }
      if (n >= N || performance.now() - lastChange > 5000) break;
      await sleep(100);
    }
    const both = procCpu(p.proc.pid!) - c0;
    const got = await promSent(p, tls);
    out.push(`Prometheus ingest while forwarding from its WAL: ${got} of ${N} forwarded after ${wall.toFixed(1)} s (${Math.round(got / wall)} samples/s); ingest + forward ${((both / N) * 1e6).toFixed(2)} CPU s per million, forwarding's extra ${(((both - ingestCpu) / N) * 1e6).toFixed(2)}`);
  } finally {
    await p.stop();
  }
  return out;
}

const tls = await makeTls();
const vm = await startVictoriaMetrics(tls, 'bench-vm');
try {
  console.log(`bench:forward — ${N} samples (${SERIES} series × ${PER_SERIES}), receiver VictoriaMetrics 1.79 over TLS on loopback`);
  for (const l of await ampule(tls, vm)) console.log(`  ${l}`);
  for (const l of await prometheus(tls, vm)) console.log(`  ${l}`);
} finally {
  await vm.stop();
  tls.cleanup();
}
