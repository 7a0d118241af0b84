/**
 * Where a site's structure comes from. The bridge runs in a worker, and a
 * structure (functions) cannot be posted to a worker: it is named by the
 * module that exports it, as a URL or absolute path, and the export's name.
 * Every thread of the site imports the same module, so all agree on it.
 *
 * The export may instead be a function that makes the structure from
 * `data` (structured-cloneable; it reaches the bridge worker by
 * workerData, never through shared memory): a structure that needs a
 * secret in every thread that applies it, as the secure KV needs its key,
 * is made this way. Every thread must be given the same data.
 */
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import type { OpTable, Structure } from '../nr/index.js';
import { ClusterConfigError } from './errors.js';

export interface StructureRef {
  /** A module URL (`import.meta.resolve(...)`, `file:` URL) or an absolute path. */
  readonly module: string;
  /** The name of its export that `defineStructure()` made, or of a function `(data) => structure`. */
  readonly export: string;
  /** The argument of that function (an export that is a structure takes none). */
  readonly data?: unknown;
}

export type AnyStructure = Structure<unknown, OpTable<unknown>, OpTable<unknown>>;

export function checkStructureRef(ref: unknown): StructureRef {
  const r = ref as Partial<StructureRef> | null;
  if (r === null || typeof r !== 'object' || typeof r.module !== 'string' || typeof r.export !== 'string' || r.module === '' || r.export === '') {
    throw new ClusterConfigError('structure must be { module: <URL or absolute path>, export: <name> }');
  }
  for (const k of Object.keys(r)) if (k !== 'module' && k !== 'export' && k !== 'data') throw new ClusterConfigError(`structure: unknown key '${k}'`);
  return 'data' in r ? { module: r.module, export: r.export, data: r.data } : { module: r.module, export: r.export };
}

export async function loadStructure(ref: StructureRef): Promise<AnyStructure> {
  const url = isAbsolute(ref.module) ? pathToFileURL(ref.module).href : ref.module;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    throw new ClusterConfigError(`cannot import structure module ${ref.module}: ${(e as Error).message}`);
  }
  let s = mod[ref.export] as Partial<AnyStructure> | ((data: unknown) => unknown) | undefined;
  if (typeof s === 'function') s = (s as (data: unknown) => Partial<AnyStructure>)(ref.data);
  else if ('data' in ref) throw new ClusterConfigError(`${ref.module}: export '${ref.export}' is not a function, so it takes no data`);
  if (!s || typeof s !== 'object' || typeof s.fingerprint !== 'number' || !Array.isArray(s.writeNames)) {
    throw new ClusterConfigError(`${ref.module} has no export '${ref.export}' made by defineStructure()`);
  }
  return s as AnyStructure;
}
