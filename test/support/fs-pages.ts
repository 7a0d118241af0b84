/**
 * Driving the NrFS structure without threads: a data op needs its bytes in
 * pages of the state's pool first, as NrFs stages them (the same
 * DataWriter, over a replica that is always current).
 */
import { attachFs, createFs, type NrFs, type NrFsHandle } from '../../src/fs/index.js';
import type { FsState, FsStructure } from '../../src/fs/state.js';
import { ResizeTarget, WriteFileTarget } from '../../src/fs/write-targets.js';
import { DataWriter } from '../../src/fs/writer.js';

const current = { sync: () => {}, holdsLog: () => true };

/** writeFile on a bare state: `flags` as the op takes them (e.g. 0o1101, O_TRUNC | O_CREAT | O_WRONLY). */
export function writeFileOp(S: FsStructure, st: FsState, path: string, flags: number, mode: number, now: number, data: Uint8Array, uid: number, gid: number): void {
  new DataWriter(current, st.store.holder).write(data, new WriteFileTarget(bare(S, st)).set(path, flags, mode, now, data.length, { uid, gid }));
}

/** truncate on a bare state. */
export function truncateOp(S: FsStructure, st: FsState, path: string, len: number, now: number, uid: number, gid: number): void {
  new DataWriter(current, st.store.holder).truncate(new ResizeTarget(bare(S, st)).set(0, path, len, now, { uid, gid }));
}

/** The structure's ops bound to one state, shaped like a replica's `reads` and `writes`. */
export function bare(S: FsStructure, st: FsState): ConstructorParameters<typeof WriteFileTarget>[0] {
  const bind = <T extends Record<string, (s: FsState, ...a: never[]) => unknown>>(ops: T) =>
    Object.fromEntries(Object.entries(ops).map(([k, f]) => [k, (...a: never[]) => f(st, ...a)]));
  return { reads: bind(S.reads), writes: bind(S.writes) } as unknown as ConstructorParameters<typeof WriteFileTarget>[0];
}

/** Two replicas in this thread (`a` writes, `b` may lag) and '/f' open on `a` holding one page of 1s. */
export function twoReplicasOneFile(capacityBytes: number, logBytes: number): { h: NrFsHandle; a: NrFs; b: NrFs; fd: number } {
  const h = createFs({ replicas: 2, maxReplicas: 2, capacityBytes, logBytes });
  const a = attachFs(h);
  const b = attachFs(h);
  const fd = a.open('/f', 'w+');
  a.pwrite(fd, Buffer.alloc(4096, 1), 0, 4096, 0);
  return { h, a, b, fd };
}

/** The page-writer worker (test/workers/fs-page-writer.ts): its input and record layout. */
export type WritePhase = 'afterTake' | 'afterStage' | 'afterLog' | 'reserve';

export interface PageWriterInput {
  mode: 'phase' | 'register';
  handle: NrFsHandle;
  control: SharedArrayBuffer;
  /** Phase mode: where to stop, and in which op (default the pwrite; 'ftruncate' cuts /f to 4500 bytes, mid-page). */
  phase?: WritePhase;
  op?: 'pwrite' | 'ftruncate';
  /** Register mode: the op records (see RECORD_WORDS), one region per worker. */
  records?: SharedArrayBuffer;
  index: number;
  workers: number;
  rounds: number;
  seed: number;
}

/** The window of /r the register ops touch, and its size. */
export const REG_AT = 4088;
export const REG_BYTES = 16;
/** Control word the test sets once it released the killed worker's slot. */
export const RELEASED = 44;
/** Per op: call, ret (-1 until it returned), kind (0 read, 1 write), offset, length, byte, then the 16 bytes read. */
export const RECORD_WORDS = 6 + REG_BYTES;

