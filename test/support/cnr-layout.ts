/** Inputs, outputs and control words of test/workers/cnr-worker.ts (shared with test/cnr.test.ts). */
import type { CnrHandle } from '../../src/nr/index.js';
import type { Value } from '../../src/nr/structures/index.js';
import type { CnrOp } from './cnr-model.js';

export interface CnrRecorded {
  client: number;
  call: number;
  ret?: number;
  input: CnrOp;
  output?: Value | boolean | number | undefined;
}

export interface CnrWorkerInput {
  handle: CnrHandle;
  control: SharedArrayBuffer;
  role: 'mix' | 'stall' | 'stall-forever' | 'reader' | 'idle' | 'writer' | 'serve';
  client: number;
  /** Participants of the READY and DONE barriers. */
  workers: number;
  seed?: number;
  ops?: number;
  /** Keys used (key names k0..k{keys-1}). */
  keys?: number;
  /** Share of multi-log ops (size, clear) among the ops. */
  multiShare?: number;
  writeRatio?: number;
  /** For 'stall'/'reader': the key on log 0 and on log 1. */
  log0Key?: string;
  log1Key?: string;
  rounds?: number;
}

export interface CnrWorkerOutput {
  client: number;
  slot: number;
  history: CnrRecorded[];
  digest: string;
  /** 'reader': its log-1 ops finished while RELEASE was still 0; ms they took. */
  finishedDuringStall?: boolean;
  readMs?: number;
  /** 'idle': what it read back, and its replicas' state transfers. */
  readBack?: (Value | undefined)[];
  stateTransfers?: number;
  fenced?: number;
  error?: string;
}

/** Control words beyond the barrier's. */
export const STALLED = 40;
export const RELEASE = 44;

