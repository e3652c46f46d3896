// The head's ids by label set: found, removed and found again however their hashes collide, across
// growth and with slots of removed series reused.
import { describe, expect, it } from 'vitest';
import type { Labels } from '../../../shared/labels';
import { Head } from '../../../main/tsdb/head';
import { LabelsTable } from '../../../main/tsdb/labels-table';

const labelsOf = (id: number): Labels => [{ name: 'k', value: `v${id}` }];

describe('LabelsTable', () => {
  it.each([
    ['a seeded hash', undefined],
    ['every label set hashing alike (the worst a sender could craft)', () => 7],
    ['two hashes', (l: Labels) => Number(l[0]!.value.slice(1)) % 2],
  ] as const)('finds every id and none removed, through growth, with %s', (_name, hash) => {
    const live = new Set<number>();
    const table = new LabelsTable(labelsOf, hash);
    const n = hash === undefined ? 5000 : 600;
    for (let id = 1; id <= n; id++) {
      table.add(id, labelsOf(id));
      live.add(id);
      if (id % 3 === 0) {
        table.remove(id - 1, labelsOf(id - 1));
        live.delete(id - 1);
      }
    }
    // Removed slots are taken again.
    for (let id = 2; id <= n; id += 3) {
      table.add(id, labelsOf(id));
      live.add(id);
    }
    for (let id = 1; id <= n + 10; id++) expect(table.find(labelsOf(id))).toBe(live.has(id) ? id : 0);
    expect(table.find([{ name: 'k', value: 'v1' }, { name: 'l', value: 'x' }])).toBe(0);
  });

  it('hashes a new series once: the add after a find that missed it reuses that hash', () => {
    let hashes = 0;
    const table = new LabelsTable(labelsOf, (l) => (hashes++, Number(l[0]!.value.slice(1)) % 4));
    const three = labelsOf(3);
    expect(table.find(three)).toBe(0);
    table.add(3, three);
    expect(hashes).toBe(1);
    expect(table.find(labelsOf(5))).toBe(0);
    table.add(3 + 1, labelsOf(4)); // not the set that was missed: hashed
    expect(hashes).toBe(3);
    table.add(5, labelsOf(5));
    expect(hashes).toBe(4);
    for (const id of [3, 4, 5]) expect(table.find(labelsOf(id))).toBe(id);
  });
});

describe('Head', () => {
  it('finds series by labels, and not once removed', () => {
    const head = new Head();
    const a = head.add(1, [{ name: '__name__', value: 'up' }, { name: 'job', value: 'a' }]);
    const b = head.add(2, [{ name: '__name__', value: 'up' }, { name: 'job', value: 'b' }]);
    expect(head.getByLabels([{ name: '__name__', value: 'up' }, { name: 'job', value: 'a' }])).toBe(a);
    expect(head.getByLabels([{ name: '__name__', value: 'up' }, { name: 'job', value: 'b' }])).toBe(b);
    expect(head.getByLabels([{ name: '__name__', value: 'up' }])).toBeUndefined();
    head.remove(a);
    expect(head.getByLabels([{ name: '__name__', value: 'up' }, { name: 'job', value: 'a' }])).toBeUndefined();
    expect(head.getByLabels([{ name: '__name__', value: 'up' }, { name: 'job', value: 'b' }])).toBe(b);
  });
});
