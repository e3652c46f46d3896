// Runtime validators for values that crossed a process or network hop. Types do not survive the
// hop, so every edge (IPC, HTTPS console) checks arguments with these before anything else runs.
// A validator returns the value typed, or throws ValidationError naming the offending path.

export class ValidationError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'ValidationError';
  }
}

export type Validator<T> = (value: unknown, path: string) => T;
export type Infer<V> = V extends Validator<infer T> ? T : never;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

export interface StringRules {
  readonly min?: number;
  readonly max: number;
  readonly pattern?: RegExp;
  /** Said in the error when `pattern` does not match, e.g. 'ws- followed by 24 hex digits'. */
  readonly patternHint?: string;
}

export function str(rules: StringRules): Validator<string> {
  return (v, path) => {
    if (typeof v !== 'string') throw new ValidationError(path, `expected a string, got ${describe(v)}`);
    if (v.length < (rules.min ?? 0)) throw new ValidationError(path, rules.min === 1 ? 'must not be empty' : `must be at least ${rules.min} characters`);
    if (v.length > rules.max) throw new ValidationError(path, `must be at most ${rules.max} characters`);
    if (rules.pattern && !rules.pattern.test(v)) throw new ValidationError(path, `must be ${rules.patternHint ?? `like ${rules.pattern}`}`);
    return v;
  };
}

export function num(rules: { min?: number; max?: number; integer?: boolean } = {}): Validator<number> {
  return (v, path) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ValidationError(path, `expected a finite number, got ${describe(v)}`);
    if (rules.integer && !Number.isInteger(v)) throw new ValidationError(path, 'must be an integer');
    if (rules.min !== undefined && v < rules.min) throw new ValidationError(path, `must be ≥ ${rules.min}`);
    if (rules.max !== undefined && v > rules.max) throw new ValidationError(path, `must be ≤ ${rules.max}`);
    return v;
  };
}

export function oneOf<const T extends readonly string[]>(choices: T): Validator<T[number]> {
  return (v, path) => {
    if (typeof v !== 'string' || !choices.includes(v)) throw new ValidationError(path, `must be one of ${choices.join(', ')}`);
    return v as T[number];
  };
}

export function optional<T>(inner: Validator<T>): Validator<T | undefined> {
  return (v, path) => (v === undefined || v === null ? undefined : inner(v, path));
}

export function arrayOf<T>(inner: Validator<T>, rules: { max: number; min?: number; unique?: boolean }): Validator<T[]> {
  return (v, path) => {
    if (!Array.isArray(v)) throw new ValidationError(path, `expected an array, got ${describe(v)}`);
    if (v.length > rules.max) throw new ValidationError(path, `must have at most ${rules.max} items`);
    if (v.length < (rules.min ?? 0)) throw new ValidationError(path, `must have at least ${rules.min} item(s)`);
    const out = v.map((item, i) => inner(item, `${path}[${i}]`));
    if (rules.unique && new Set(out).size !== out.length) throw new ValidationError(path, 'must not repeat an item');
    return out;
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A plain object with exactly these keys (unknown keys are refused, so typos do not pass silently). */
export function object<S extends Record<string, Validator<unknown>>>(shape: S): Validator<{ [K in keyof S]: Infer<S[K]> }> {
  return (v, path) => {
    if (!isPlainObject(v)) throw new ValidationError(path, `expected an object, got ${describe(v)}`);
    for (const k of Object.keys(v)) if (!Object.prototype.hasOwnProperty.call(shape, k)) throw new ValidationError(`${path}.${k}`, 'is not a known field');
    const out: Record<string, unknown> = {};
    for (const [k, check] of Object.entries(shape)) {
      const value = check(v[k], `${path}.${k}`);
      if (value !== undefined) out[k] = value;
    }
    return out as { [K in keyof S]: Infer<S[K]> };
  };
}

/** A string→string map (tags), with validated keys and values. */
export function record(key: Validator<string>, value: Validator<string>, rules: { max: number }): Validator<Record<string, string>> {
  return (v, path) => {
    if (!isPlainObject(v)) throw new ValidationError(path, `expected an object, got ${describe(v)}`);
    const entries = Object.entries(v);
    if (entries.length > rules.max) throw new ValidationError(path, `must have at most ${rules.max} entries`);
    const out: Record<string, string> = Object.create(null);
    for (const [k, val] of entries) {
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') throw new ValidationError(`${path} key`, `'${k}' is not allowed`);
      out[key(k, `${path} key`)] = value(val, `${path}.${k}`);
    }
    return { ...out };
  };
}

/** Validators for a positional argument list, checked for arity as well. */
export type ArgsValidator<A extends readonly unknown[]> = { readonly [I in keyof A]: Validator<A[I]> };

export function checkArgs<A extends readonly unknown[]>(validators: ArgsValidator<A>, args: unknown, method: string): A {
  if (!Array.isArray(args)) throw new ValidationError(method, 'arguments must be an array');
  const list = validators as readonly Validator<unknown>[];
  if (args.length > list.length) throw new ValidationError(method, `takes at most ${list.length} argument(s), got ${args.length}`);
  return list.map((check, i) => check(args[i], `${method} argument ${i + 1}`)) as unknown as A;
}
