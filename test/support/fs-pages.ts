/**
 * Driving the NrFS structure without threads: a data op needs its bytes in
 * pages of the state's pool first, as NrFs stages them (the same
 * DataWriter, over a replica that is always current).
 */
import type { NrFsHandle } from '../../src/fs/index.js';
import type { FsState, FsStructure } from '../../src/fs/state.js';
import { DataWriter } from '../../src/fs/writer.js';

const current = { sync: () => {}, holdsLog: () => true };

/** writeFile on a bare state: `flags` as the op takes them (e.g. 0o1101, O_TRUNC | O_CREAT | O_WRONLY). */
export function writeFileOp(S: FsStructure, st: FsState, path: string, flags: number, mode: number, now: number, data: Uint8Array, uid: number, gid: number): void {
  const trunc = (flags & 0o1000) !== 0;
  const append = (flags & 0o2000) !== 0;
  new DataWriter(current, st.store.holder).write(
    data,
    () => {
      const node = S.reads.inode(st, 0, path);
      return { node, at: node === undefined || node.dir || trunc || !append ? 0 : node.size, trunc };
    },
    (at, expFirst, expLast, refs) => S.writes.writeFile(st, path, flags, mode, now, at, data.length, expFirst, expLast, refs, uid, gid),
  );
}

/** truncate on a bare state. */
export function truncateOp(S: FsStructure, st: FsState, path: string, len: number, now: number, uid: number, gid: number): void {
  new DataWriter(current, st.store.holder).truncate(len, () => S.reads.inode(st, 0, path), (expTail, tailRef) => S.writes.truncate(st, path, len, now, uid, gid, expTail, tailRef));
}

/** The page-writer worker (test/workers/fs-page-writer.ts): its input and record layout. */
export type WritePhase = 'afterTake' | 'afterStage' | 'afterLog' | 'reserve';

export interface PageWriterInput {
  mode: 'phase' | 'register';
  handle: NrFsHandle;
  control: SharedArrayBuffer;
  /** Phase mode: where to stop. */
  phase?: WritePhase;
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
/** Per op: call, ret (-1 until it returned), kind (0 read, 1 write), offset, length, byte, then the 16 bytes read. */
export const RECORD_WORDS = 6 + REG_BYTES;

