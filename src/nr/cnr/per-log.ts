/**
 * The per-log structure of parallel logs: what one log's replicas run, the
 * user's ops plus the internal write op that carries a multi-log op.
 */
import { defineStructure, type OpTable, type Structure } from '../structure.js';

/** The internal write op that carries a multi-log op in every log. */
export const ALL_OP = '__cnrAll';

/** Where a log's ALL_OP apply goes: the view of this thread (cnr-replica.ts). */
export type AllApply = (log: number, state: unknown, seq: number, kind: number, id: number, args: unknown[]) => unknown;

/**
 * The structure one log's replicas run: the user's ops plus ALL_OP, whose
 * apply goes to `applyAll` (the view of this thread). The creator builds
 * it with a no-op: only its shape (name, version, op names) is shared.
 */
export function perLogStructure<S, R extends OpTable<S>, W extends OpTable<S>>(base: Structure<S, R, W>, log: number, applyAll: AllApply): Structure<S, R, OpTable<S>> {
  const writes: OpTable<S> = { ...base.writes };
  writes[ALL_OP] = ((state: S, seq: number, kind: number, id: number, args: unknown[]) => applyAll(log, state, seq, kind, id, args)) as never;
  return defineStructure({
    name: `${base.name}#cnr`,
    version: base.version,
    create: base.create,
    reads: base.reads as never,
    writes: writes as never,
    ...(base.codecs ? { codecs: base.codecs as never } : {}),
    ...(base.readCodecs ? { readCodecs: base.readCodecs as never } : {}),
    ...(base.resultCodecs ? { resultCodecs: base.resultCodecs as never } : {}),
    ...(base.digest ? { digest: base.digest } : {}),
    ...(base.snapshot ? { snapshot: base.snapshot } : {}),
    ...(base.restore ? { restore: base.restore } : {}),
  }) as unknown as Structure<S, R, OpTable<S>>;
}
