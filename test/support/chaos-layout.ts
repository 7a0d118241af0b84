/** Shared-memory layout of the chaos test (see test/workers/chaos-worker.ts). */
export const RECORD = 8;
/** Control words: the shared logical clock, and the stop flag on its own line. */
export const CLOCK = 0;
export const STOP = 16;

export interface ChaosInput {
  handle: import('../../src/nr/index.js').NrHandle;
  control: SharedArrayBuffer;
  history: SharedArrayBuffer;
  /** First record index this worker life owns, and how many. */
  base: number;
  capacity: number;
  life: number;
  keys: number;
}
