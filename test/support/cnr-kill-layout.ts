/** Input and control words of test/workers/cnr-kill-worker.ts (shared with test/cnr-kill.test.ts). */
import type { CnrHandle } from '../../src/nr/index.js';

export type KillPhase = 'reserve-1' | 'appended' | 'committed' | 'released';
export interface KillInput {
  handle: CnrHandle;
  control: SharedArrayBuffer;
  phase: KillPhase;
  /** Stop only until GO turns 2 (a stall, not a death). */
  resume?: boolean;
}
/** Control words: GO (main to worker), STALLED (worker to main). */
export const GO = 0;
export const STALLED = 16;
