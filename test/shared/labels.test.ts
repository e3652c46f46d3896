// Label keys: one string per label set, told apart for every well-formed name and value.
import { describe, expect, it } from 'vitest';
import { labelsFromRecord, labelsKey } from '../../shared/labels';

describe('label keys', () => {
  it('differ for distinct label sets, whatever letters the values hold', () => {
    const recs = [{} as Record<string, string>, { __name__: 'up' }, { __name__: 'x', a: '1ÿbþ2', b: 'π = 3.14, "quoted"', c: '😀 \n\t' }, { 'ü.name': 'ÿ', z: 'þ' }, { a: '1ÿbþ2' }, { a: '1', b: '2' }];
    expect(new Set(recs.map((r) => labelsKey(labelsFromRecord(r)))).size).toBe(recs.length);
  });
});
