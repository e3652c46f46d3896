// The self-test's search for stored strings: every needle found wherever it lies (a piece's seam
// included), nothing found that is not there, and files read in pieces, so size is no limit.
import { randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileScan, NeedleSet } from '../../../main/service/plaintext-scan';

const dir = mkdtempSync(join(tmpdir(), 'ampule-scan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Label values that share long prefixes and suffixes, as hosts do, and a short one that sets the stride. */
const needles = [...Array.from({ length: 5000 }, (_, i) => `host-${i}.example.internal:9100`), 'job-12', 'workspace alias ünïcode'].map((s) => Buffer.from(s, 'utf8'));

describe('NeedleSet', () => {
  const set = new NeedleSet(needles);

  it('finds any needle at any offset of random bytes, and nothing in bytes that hold none', () => {
    const base = randomBytes(64 * 1024);
    expect(set.foundIn(base)).toBe(false);
    for (const needle of [needles[0]!, needles[4321]!, needles[5000]!, needles[5001]!]) {
      for (const at of [0, 1, 2, 3, 4, 777, base.length - needle.length - 1, base.length - needle.length]) {
        const data = Buffer.from(base);
        needle.copy(data, at);
        expect(set.foundIn(data), `${needle.toString()} at ${at}`).toBe(true);
        // Cut one byte short of its end, it is not there.
        expect(set.foundIn(data, at + needle.length - 1), `${needle.toString()} cut at ${at}`).toBe(false);
      }
    }
  });

  it('does not take a near miss for a needle', () => {
    const data = Buffer.concat([randomBytes(100), Buffer.from('host-5000.example.internal:9100 host-12.example.internal:910 job-1 job-13x'), randomBytes(100)]);
    expect(set.foundIn(data)).toBe(false);
    expect(set.foundIn(Buffer.concat([data, Buffer.from('job-12')]))).toBe(true);
  });

  it('refuses needles under four bytes; no needles find nothing', () => {
    expect(() => new NeedleSet([Buffer.from('abc')])).toThrow(/at least 4/);
    expect(new NeedleSet([]).foundIn(Buffer.from('anything at all'))).toBe(false);
  });
});

describe('FileScan', () => {
  it('finds a needle that straddles the seam between two pieces, at every offset across it', () => {
    const needle = needles[4999]!;
    const set = new NeedleSet(needles);
    const piece = 64;
    for (let at = piece - needle.length; at <= piece; at++) {
      const data = randomBytes(3 * piece);
      needle.copy(data, at);
      const path = join(dir, `seam-${at}`);
      writeFileSync(path, data);
      const scan = new FileScan(path, set, piece);
      while (!scan.step(piece));
      expect(scan.found, `at ${at}`).toBe(true);
    }
    const path = join(dir, 'none');
    writeFileSync(path, randomBytes(10 * piece + 7));
    const scan = new FileScan(path, set, piece);
    let turns = 0;
    while (!scan.step(piece)) turns++;
    expect(scan).toMatchObject({ found: false, done: true, bytes: 10 * piece + 7 });
    expect(turns).toBeGreaterThanOrEqual(9); // a piece a step, not the file at once
  });

  it('tells a file gone before it was opened from one that cannot be read, and throws neither', () => {
    const set = new NeedleSet(needles);
    const gone = new FileScan(join(dir, 'never-there'), set);
    expect(gone.step()).toBe(true);
    expect(gone).toMatchObject({ found: false, unreadable: null, bytes: 0 });
    const unreadable = new FileScan(dir, set); // a directory opens, and refuses to be read
    expect(unreadable.step()).toBe(true);
    expect(unreadable).toMatchObject({ found: false, unreadable: 'EISDIR' });
  });

  // readFileSync refuses files over 2 GiB (ERR_FS_FILE_TOO_LARGE); the scan that used it skipped them as "gone".
  it('reads a file over 2 GiB whole and finds a needle near its end (a sparse file)', () => {
    const path = join(dir, 'large.bin');
    const size = 2 ** 31 + (1 << 20);
    const fd = openSync(path, 'w');
    try {
      ftruncateSync(fd, size);
      writeSync(fd, needles[5001]!, 0, needles[5001]!.length, size - 100);
    } finally {
      closeSync(fd);
    }
    const scan = new FileScan(path, new NeedleSet(needles));
    expect(scan.step()).toBe(true);
    expect(scan.found).toBe(true);
    expect(scan.bytes).toBe(size);
    rmSync(path);
  }, 60_000);
});
