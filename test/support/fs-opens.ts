/** The open-table test worker (test/workers/fs-opens-worker.ts): its input, commands and report. */
import type { NrFsHandle } from '../../src/fs/index.js';

export interface OpensWorkerInput {
  mode: 'commands' | 'stress';
  handle: NrFsHandle;
  control: SharedArrayBuffer;
  index: number;
  workers: number;
  rounds: number;
  seed: number;
}

export interface OpensCommand {
  id: number;
  op: 'open' | 'pread' | 'fstat' | 'close' | 'unlink' | 'logMark' | 'digest' | 'writeFile';
  args: (string | number)[];
}

export interface StressOutput {
  index: number;
  digest: string;
  /** Descriptions of broken promises (an fd op that failed, bytes no write produced). */
  failures: string[];
  opens: number;
  reads: number;
  unlinks: number;
}

/** Stress files: FILE_BYTES, every u32 the writer's tag (nonzero), so a page from elsewhere shows. */
export const NAMES = 4;
export const FILE_BYTES = 8192;

