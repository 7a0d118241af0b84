/** Shared-memory layout of the chaos test (see test/workers/chaos-task.ts). */
import type { CnrHandle, NrHandle } from '../../src/nr/index.js';

export const RECORD = 8;
/** Control words, one line each: the shared logical clock, the stop flag, the final barrier; then per life (thread id, slot + 1). */
export const CLOCK = 0;
export const STOP = 16;
export const FINAL = 32;
export const LIVES_AT = 48;

export interface ChaosInput {
  handle: NrHandle;
  control: SharedArrayBuffer;
  history: SharedArrayBuffer;
  /** First record index this life owns, and how many. */
  base: number;
  capacity: number;
  life: number;
  keys: number;
  /** Lives that will reach the final barrier (the threads alive at the end). */
  survivors: number;
}

export interface ChaosResult {
  digest: string;
  values: (number | null)[];
  ops: number;
}

/** The parallel-logs chaos test's life (test/workers/cnr-chaos-task.ts). */
export interface CnrChaosInput extends Omit<ChaosInput, 'handle'> {
  handle: CnrHandle;
  /** Share of ops that go to every log (size, clear). */
  multiShare: number;
}
