import { describe, expect, it } from 'vitest';
import { compileRelabelConfigs, hashmod, relabel, RelabelConfigError } from '../../../main/forward/relabel';
import { labelsFromRecord, labelsToRecord } from '../../../shared/labels';

function run(input: Record<string, string>, configs: unknown[]): Record<string, string> | null {
  const out = relabel(labelsFromRecord(input), compileRelabelConfigs(configs));
  return out === null ? null : labelsToRecord(out);
}

describe('write_relabel_configs', () => {
  it('replace with the defaults copies the joined source values', () => {
    expect(run({ a: 'foo', b: 'bar' }, [{ source_labels: ['a', 'b'], target_label: 'c' }])).toEqual({ a: 'foo', b: 'bar', c: 'foo;bar' });
  });

  it('replace expands $1, ${name}, $$ and a target template; no match leaves the set alone', () => {
    const cfg = [{ source_labels: ['a'], regex: 'f(?P<rest>o+)', target_label: 'x_${rest}', replacement: '$1|${rest}|$$|$9|$1x' }];
    expect(run({ a: 'foo' }, cfg)).toEqual({ a: 'foo', x_oo: 'oo|oo|$||' });
    expect(run({ a: 'boo' }, cfg)).toEqual({ a: 'boo' });
  });

  it('regexes are fully anchored and RE2 (no backreferences or lookahead)', () => {
    expect(run({ a: 'xfoox' }, [{ source_labels: ['a'], regex: 'foo', action: 'keep' }])).toBeNull();
    expect(run({ a: 'foo' }, [{ source_labels: ['a'], regex: 'foo|bar', action: 'keep' }])).toEqual({ a: 'foo' });
    expect(() => compileRelabelConfigs([{ regex: '(a)\\1', action: 'keep' }])).toThrow(/write_relabel_configs\[0\]\.regex/);
    expect(() => compileRelabelConfigs([{ regex: 'a(?=b)', action: 'keep' }])).toThrow(RelabelConfigError);
  });

  it('replace to an empty value deletes the target; an invalid expanded target is skipped', () => {
    expect(run({ a: 'foo', b: 'x' }, [{ source_labels: ['a'], regex: 'foo', target_label: 'b', replacement: '' }])).toEqual({ a: 'foo' });
    expect(run({ a: '1foo' }, [{ source_labels: ['a'], target_label: '${1}', replacement: 'v' }])).toEqual({ a: '1foo' });
  });

  it('a missing source label joins as the empty string', () => {
    expect(run({ a: 'x' }, [{ source_labels: ['a', 'nope', 'a'], separator: '-', target_label: 'j' }])).toEqual({ a: 'x', j: 'x--x' });
  });

  it('keep and drop', () => {
    const keep = [{ source_labels: ['__name__'], regex: 'up|node_.*', action: 'keep' }];
    expect(run({ __name__: 'node_load1' }, keep)).not.toBeNull();
    expect(run({ __name__: 'go_gc' }, keep)).toBeNull();
    const drop = [{ source_labels: ['__name__'], regex: 'go_.*', action: 'drop' }];
    expect(run({ __name__: 'go_gc' }, drop)).toBeNull();
    expect(run({ __name__: 'up' }, drop)).toEqual({ __name__: 'up' });
  });

  it('keepequal and dropequal compare the joined value with the target label', () => {
    const ke = [{ source_labels: ['a'], target_label: 'b', action: 'keepequal' }];
    expect(run({ a: '1', b: '1' }, ke)).not.toBeNull();
    expect(run({ a: '1', b: '2' }, ke)).toBeNull();
    const de = [{ source_labels: ['a'], target_label: 'b', action: 'dropequal' }];
    expect(run({ a: '1', b: '1' }, de)).toBeNull();
    expect(run({ a: '1', b: '2' }, de)).not.toBeNull();
    expect(() => compileRelabelConfigs([{ source_labels: ['a'], target_label: 'b', action: 'keepequal', regex: 'x' }])).toThrow(/takes only source_labels/);
  });

  it('hashmod takes the last 8 bytes of the MD5 as a big-endian uint64', () => {
    // md5("foo") = acbd18db4cc2f85cedef654fccc4a4d8; 0xedef654fccc4a4d8 = 17145033699835028696.
    expect(BigInt('0xedef654fccc4a4d8') % 1000n).toBe(696n);
    expect(hashmod('foo', 1000n)).toBe(696n);
    expect(run({ a: 'foo' }, [{ source_labels: ['a'], target_label: 'h', modulus: 1000, action: 'hashmod' }])).toEqual({ a: 'foo', h: '696' });
    expect(() => compileRelabelConfigs([{ source_labels: ['a'], target_label: 'h', action: 'hashmod' }])).toThrow(/modulus/);
  });

  it('labelmap copies matching labels under the expanded name; labeldrop and labelkeep filter names', () => {
    expect(run({ __meta_x: '1', __meta_y: '2', z: '3' }, [{ regex: '__meta_(.+)', action: 'labelmap' }])).toEqual({ __meta_x: '1', __meta_y: '2', x: '1', y: '2', z: '3' });
    expect(run({ a: '1', b: '2', bb: '3' }, [{ regex: 'b+', action: 'labeldrop' }])).toEqual({ a: '1' });
    expect(run({ a: '1', b: '2', bb: '3' }, [{ regex: 'b+', action: 'labelkeep' }])).toEqual({ b: '2', bb: '3' });
    expect(() => compileRelabelConfigs([{ regex: 'b', action: 'labeldrop', source_labels: ['a'] }])).toThrow(/takes only regex/);
  });

  it('lowercase and uppercase', () => {
    expect(run({ a: 'AbC' }, [{ source_labels: ['a'], target_label: 'l', action: 'lowercase' }])).toEqual({ a: 'AbC', l: 'abc' });
    expect(run({ a: 'AbC' }, [{ source_labels: ['a'], target_label: 'u', action: 'UPPERCASE' }])).toEqual({ a: 'AbC', u: 'ABC' });
    expect(() => compileRelabelConfigs([{ source_labels: ['a'], target_label: 'u', action: 'uppercase', replacement: 'x' }])).toThrow(/replacement/);
  });

  it('rules apply in order and a later rule sees an earlier one', () => {
    expect(
      run({ __name__: 'm', env: 'prod' }, [
        { source_labels: ['env'], target_label: 'tier', replacement: 'gold' },
        { source_labels: ['tier'], regex: 'gold', action: 'keep' },
        { regex: 'env', action: 'labeldrop' },
      ]),
    ).toEqual({ __name__: 'm', tier: 'gold' });
  });

  it('errors name the rule and field', () => {
    expect(() => compileRelabelConfigs([{}, { action: 'explode' }])).toThrow('write_relabel_configs[0].target_label: the replace action requires a target_label');
    expect(() => compileRelabelConfigs([{ action: 'explode' }])).toThrow(/write_relabel_configs\[0\]\.action: unknown relabel action "explode"/);
    expect(() => compileRelabelConfigs([{ target_label: '1bad' }])).toThrow(/target_label.*not a valid label name/);
    expect(() => compileRelabelConfigs([{ target_label: 'a', sourcelabels: ['x'] }])).toThrow(/sourcelabels: unknown field/);
    expect(() => compileRelabelConfigs({})).toThrow(/must be a list/);
    expect(() => compileRelabelConfigs([{ regex: 'a', action: 'labelmap', replacement: '1-$1' }])).toThrow(/replacement/);
  });
});
