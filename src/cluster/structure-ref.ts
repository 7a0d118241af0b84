/**
 * Where a site's structure comes from. The bridge runs in a worker, and a
 * structure (functions) cannot be posted to a worker: it is named by the
 * module that exports it, as a URL or absolute path, and the export's name.
 * Every thread of the site imports the same module, so all agree on it.
 */
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import type { OpTable, Structure } from '../nr/index.js';
import { ClusterConfigError } from './errors.js';

export interface StructureRef {
  /** A module URL (`import.meta.resolve(...)`, `file:` URL) or an absolute path. */
  readonly module: string;
  /** The name of its export that `defineStructure()` made. */
  readonly export: string;
}

export type AnyStructure = Structure<unknown, OpTable<unknown>, OpTable<unknown>>;

export function checkStructureRef(ref: unknown): StructureRef {
  const r = ref as Partial<StructureRef> | null;
  if (r === null || typeof r !== 'object' || typeof r.module !== 'string' || typeof r.export !== 'string' || r.module === '' || r.export === '') {
    throw new ClusterConfigError('structure must be { module: <URL or absolute path>, export: <name> }');
  }
  for (const k of Object.keys(r)) if (k !== 'module' && k !== 'export') throw new ClusterConfigError(`structure: unknown key '${k}'`);
  return { module: r.module, export: r.export };
}

export async function loadStructure(ref: StructureRef): Promise<AnyStructure> {
  const url = isAbsolute(ref.module) ? pathToFileURL(ref.module).href : ref.module;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    throw new ClusterConfigError(`cannot import structure module ${ref.module}: ${(e as Error).message}`);
  }
  const s = mod[ref.export] as Partial<AnyStructure> | undefined;
  if (!s || typeof s !== 'object' || typeof s.fingerprint !== 'number' || !Array.isArray(s.writeNames)) {
    throw new ClusterConfigError(`${ref.module} has no export '${ref.export}' made by defineStructure()`);
  }
  return s as AnyStructure;
}
