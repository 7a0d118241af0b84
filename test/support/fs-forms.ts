/**
 * Run one file-system scenario in node:fs's three API forms (sync,
 * callback, promises) against any node:fs-shaped object, recording each
 * call's outcome (a normalised value, or the error and how it arrived:
 * thrown at the call, passed to the callback, or a rejection).
 */
export type Form = 'sync' | 'callback' | 'promises';

/** Loose view of a node:fs-shaped module (node:fs, memfs, NrFS's facade). */
export type FsLike = Record<string, unknown> & { promises: Record<string, unknown> };

export class NotInForm extends Error {}

export type Call = (name: string, ...args: unknown[]) => Promise<unknown>;

type Fn = (...a: unknown[]) => unknown;

class Delivered extends Error {
  constructor(readonly via: 'throw' | 'cb' | 'reject', readonly inner: unknown) {
    super('delivered');
  }
}

/** `call(name, ...args)`: fs.nameSync(...), fs.name(..., cb) or fs.promises.name(...). */
export function caller(fs: FsLike, form: Form): Call {
  if (form === 'sync') {
    return async (name, ...args) => {
      const f = fs[`${name}Sync`] as Fn | undefined;
      if (typeof f !== 'function') throw new NotInForm(name);
      try {
        return f.apply(fs, args);
      } catch (e) {
        throw new Delivered('throw', e);
      }
    };
  }
  if (form === 'callback') {
    return (name, ...args) =>
      new Promise((resolve, reject) => {
        const f = fs[name] as Fn | undefined;
        if (typeof f !== 'function') return reject(new NotInForm(name));
        try {
          f.apply(fs, [
            ...args,
            (err: unknown, ...r: unknown[]) => (err ? reject(new Delivered('cb', err)) : resolve(r.length <= 1 ? r[0] : r)),
          ]);
        } catch (e) {
          reject(new Delivered('throw', e));
        }
      });
  }
  return async (name, ...args) => {
    const f = fs.promises[name] as Fn | undefined;
    if (typeof f !== 'function') throw new NotInForm(name);
    let p: unknown;
    try {
      p = f.apply(fs.promises, args);
    } catch (e) {
      throw new Delivered('throw', e);
    }
    try {
      return await p;
    } catch (e) {
      throw new Delivered('reject', e);
    }
  };
}

/** A normalised value: Buffers, Stats, Dirents, and strings with the test directory removed. */
export function normalise(v: unknown, base: string): unknown {
  if (Buffer.isBuffer(v)) return { buffer: v.toString('latin1').split(base).join('') };
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('latin1') };
  if (typeof v === 'string') return v.split(base).join('').replace(/tmp-[A-Za-z0-9]{6}/g, 'tmp-XXXXXX');
  if (typeof v === 'bigint') return { bigint: v.toString() };
  if (Array.isArray(v)) return v.map((x) => normalise(x, base));
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown> & { isFile?: () => boolean; isDirectory?: () => boolean; isSymbolicLink?: () => boolean };
    if (typeof o.isFile === 'function' && 'ino' in o && 'mode' in o) {
      const file = o.isFile();
      return {
        type: file ? 'file' : o.isDirectory!() ? 'dir' : o.isSymbolicLink!() ? 'link' : 'other',
        size: file || o.isSymbolicLink!() ? normalise(o.size, base) : 'dir',
        mode: normalise(o.mode, base),
        nlink: normalise(o.nlink, base),
        bigint: typeof o.size === 'bigint',
      };
    }
    if (typeof o.isFile === 'function' && 'name' in o) {
      return { name: normalise(o.name, base), type: o.isFile() ? 'file' : o.isDirectory!() ? 'dir' : o.isSymbolicLink!() ? 'link' : 'other' };
    }
    if ('bsize' in o && 'ffree' in o) return { statfs: typeof o.bsize };
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, normalise(x, base)]));
  }
  return v;
}

export type Outcome = { ok: unknown } | { err: { via: string; name: string; code: unknown; message: string } } | { na: string };

export function errorOutcome(e: unknown, base: string): Outcome {
  if (e instanceof NotInForm) return { na: e.message };
  const via = e instanceof Delivered ? e.via : 'throw';
  const inner = e instanceof Delivered ? e.inner : e;
  const err = inner as { name?: string; code?: unknown; message?: string };
  // `name` is the class node:fs uses for the code (TypeError, RangeError, Error): node's own tests assert it.
  return { err: { via, name: String(err.name), code: err.code, message: String(err.message).split(base).join('').replace(/tmp-[A-Za-z0-9]{6}/g, 'tmp-XXXXXX') } };
}

export interface ScenarioCtx {
  call: Call;
  /** An absolute path in this scenario's fresh directory. */
  p: (rel: string) => string;
  rec: (label: string, fn: () => Promise<unknown>) => Promise<void>;
  form: Form;
  fs: FsLike;
  /** Change the working directory relative paths resolve against: NrFS's per-facade one, else the process's. */
  chdir: (dir: string) => void;
}

export type Scenario = (c: ScenarioCtx) => Promise<void>;

/** Run `scenario` in directory `dir` (exists, empty); returns its outcomes by label. */
export async function runScenario(fs: FsLike, form: Form, dir: string, base: string, scenario: Scenario): Promise<Map<string, Outcome>> {
  const out = new Map<string, Outcome>();
  const call = caller(fs, form);
  const p = (rel: string): string => (rel === '' ? dir : `${dir}/${rel}`);
  const rec = async (label: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      out.set(label, { ok: normalise(await fn(), base) });
    } catch (e) {
      out.set(label, errorOutcome(e, base));
    }
  };
  const before = process.cwd();
  const chdir = (d: string): void => {
    if (typeof fs.chdir === 'function') (fs.chdir as (d: string) => void)(d);
    else process.chdir(d);
  };
  try {
    await scenario({ call, p, rec, form, fs, chdir });
  } finally {
    process.chdir(before);
    if (typeof fs.chdir === 'function') (fs.chdir as (d: string) => void)('/');
  }
  return out;
}
