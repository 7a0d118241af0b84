/**
 * What every chaos life shares (workers/chaos-task.ts on one log,
 * workers/cnr-chaos-task.ts on parallel logs): telling the controller its
 * thread and slot, recording each op in shared memory before it starts and
 * when it is answered (layout in chaos-layout.ts), and the end of a life
 * (stay attached until STOP, then read the final state).
 */
import { threadId } from 'node:worker_threads';
import { arriveAndWait } from './barrier.js';
import { CLOCK, FINAL, LIVES_AT, RECORD, STOP, type ChaosResult } from './chaos-layout.js';

interface LifeInput {
  control: SharedArrayBuffer;
  history: SharedArrayBuffer;
  base: number;
  life: number;
  keys: number;
  survivors: number;
}

/** The hashmap node a life ends with (one log or parallel logs). */
interface FinalNode {
  reads: { get(key: number): unknown };
  sync(): void;
  digest(): string;
  detach(): void;
}

export class LifeHistory {
  /** Ops recorded so far. */
  n = 0;
  readonly ctl: Int32Array;
  private readonly rec: Int32Array;

  constructor(private readonly input: LifeInput, slot: number) {
    this.ctl = new Int32Array(input.control);
    this.rec = new Int32Array(input.history);
    // Tell the controller which thread and replica slot this life has.
    Atomics.store(this.ctl, LIVES_AT + 2 * input.life, threadId);
    Atomics.store(this.ctl, LIVES_AT + 2 * input.life + 1, slot + 1);
  }

  /** Record an op before it starts; returns its record's index. */
  begin(kind: number, key: number, value: number): number {
    const at = (this.input.base + this.n++) * RECORD;
    this.rec[at + 1] = key;
    this.rec[at + 2] = value;
    this.rec[at + 3] = Atomics.add(this.ctl, CLOCK, 1);
    Atomics.store(this.rec, at, kind); // the record exists once its kind is set
    return at;
  }

  /** Record an op's answer. */
  end(at: number, output: unknown): void {
    this.answer(at, output === undefined ? 0 : typeof output === 'number' ? 1 : output ? 3 : 2, typeof output === 'number' ? output : 0);
  }

  /** Record an answer by its output tag (chaos-layout.ts); the answer's stamp is published last. */
  answer(at: number, tag: number, value = 0): void {
    this.rec[at + 5] = tag;
    if (tag === 1) this.rec[at + 6] = value;
    Atomics.store(this.rec, at + 4, Atomics.add(this.ctl, CLOCK, 1));
  }

  get stopped(): boolean {
    return Atomics.load(this.ctl, STOP) !== 0;
  }

  /**
   * A life that used up its op budget stays attached (a source of state for
   * joiners, answering nudges) until the controller stops everyone; then all
   * surviving lives read their final state.
   */
  async finish(node: FinalNode): Promise<ChaosResult> {
    while (!this.stopped) await new Promise((r) => setTimeout(r, 5));
    await arriveAndWait(this.ctl, FINAL, this.input.survivors, 60_000);
    node.sync();
    const values: (number | null)[] = [];
    for (let k = 0; k < this.input.keys; k++) {
      const v = node.reads.get(k);
      values.push(typeof v === 'number' ? v : null);
    }
    const result: ChaosResult = { digest: node.digest(), values, ops: this.n };
    node.detach();
    return result;
  }
}
