/**
 * applyRemote: a structure's own FailStopError (a KV record whose MAC fails)
 * is corruption only while the replica still holds its slot and its run;
 * read while fenced or lapped, the bytes may be a later lap's, and the
 * replay must see a fence (FencedRunSignal) so the replica recovers by
 * state transfer instead of halting.
 */
import { describe, expect, it } from 'vitest';
import { OpReader } from '../src/nr/codec.js';
import { FailStopError } from '../src/nr/errors.js';
import { createLogMemory } from '../src/nr/log/create.js';
import { ENTRY_BATCH } from '../src/nr/log/layout.js';
import { SharedLog } from '../src/nr/log/shared-log.js';
import { applyRemote, FencedRunSignal } from '../src/nr/replica/apply-remote.js';

const FP = 4321;

/** A log with one sealed-shape entry of one op (id 0, 4 payload bytes) at position 0, and a structure whose apply fails stop. */
function setup(): { log: SharedLog; run: (slotWord: number) => unknown } {
  const log = new SharedLog(createLogMemory(FP, { logBytes: 4096, replicas: 2 }), FP);
  const pos = log.tryReserve(1, 0);
  if (typeof pos !== 'number') throw new Error('no reservation');
  const at = log.payloadOffset(pos);
  const len = 4;
  log.data[at] = len; // op header: length 4, id 0 (top byte)
  log.writeHeader(pos, 1, ENTRY_BATCH, 0, 1, 8);
  const structure = {
    writeFns: [() => { throw new FailStopError('the record does not authenticate'); }],
    writeCodecs: [{ decode: () => [] }],
  } as unknown as Parameters<typeof applyRemote>[1];
  const header = { cells: 1, kind: ENTRY_BATCH, replica: 0, ops: 1, payloadBytes: 8 } as unknown as Parameters<typeof applyRemote>[5];
  const run = (slotWord: number): unknown => {
    try {
      return applyRemote(log, structure, {}, new OpReader(log.data), pos, header, 1, slotWord, pos);
    } catch (e) {
      return e;
    }
  };
  return { log, run };
}

describe('applyRemote: a FailStopError from the structure', () => {
  it('is corruption (FailStopError) while the replica holds its slot', () => {
    const { log, run } = setup();
    expect(run(log.slotWord(1))).toBeInstanceOf(FailStopError);
  });

  it('is a fence (FencedRunSignal) once the slot word changed under the apply', () => {
    const { log, run } = setup();
    const e = run(log.slotWord(1) + 1);
    expect(e).toBeInstanceOf(FencedRunSignal);
    expect(e).not.toBeInstanceOf(FailStopError);
  });
});
