/**
 * Issue order across the sync and async forms on parallel logs, as on one
 * log: a write waits behind the async writes its thread queued before it
 * ("a sync write commits the queue together with its own op"), and an
 * async op behind those queued before it, in either combine mode. A
 * multi-log op (clear, size) touches every log, so it must not overtake an
 * async write of this thread still queued on any log. Checked against the
 * single log's answers for the same calls.
 */
import { describe, expect, it } from 'vitest';
import { attach, attachCnr, createCnrHandle, createHandle } from '../src/nr/index.js';
import { HashMap, HashMapCnr } from '../src/nr/structures/index.js';

type Combine = 'microtask' | 'immediate';
interface MapView {
  writeAsync(op: string, ...args: unknown[]): Promise<unknown>;
  readAsync(op: string, ...args: unknown[]): Promise<unknown>;
  writes: { clear(): void; put(k: string, v: number): unknown };
  reads: { get(k: string): unknown; size(): number };
  detach(): void;
}

function open(logs: number, combine: Combine): MapView {
  if (logs === 1) return attach(createHandle(HashMap), HashMap, { combine }) as unknown as MapView;
  return attachCnr(createCnrHandle(HashMapCnr, { logs }), HashMapCnr, { combine }) as unknown as MapView;
}

/** The same calls on a view: what each observation gave. */
async function script(v: MapView): Promise<unknown[]> {
  const seen: unknown[] = [];
  // An async put, then a sync clear: the put is older, so k is gone.
  const p = v.writeAsync('put', 'k', 1);
  v.writes.clear();
  seen.push(await p, v.reads.get('k'));
  // Async put, clear, put in one tick: only j survives.
  seen.push(await Promise.all([v.writeAsync('put', 'k', 2), v.writeAsync('clear'), v.writeAsync('put', 'j', 3)]), v.reads.get('k'), v.reads.get('j'));
  // The same with one key: its log's flush, scheduled by the older put, must not take the younger one ahead of the clear.
  seen.push(await Promise.all([v.writeAsync('put', 'k', 6), v.writeAsync('clear'), v.writeAsync('put', 'k', 7)]), v.reads.get('k'));
  // An async clear, then an async put: the put is younger, so k stays.
  seen.push(await Promise.all([v.writeAsync('clear'), v.writeAsync('put', 'k', 4)]), v.reads.get('k'), v.reads.size());
  // An async put, then an async size: the size observes it.
  seen.push(await Promise.all([v.writeAsync('put', 'm', 5), v.readAsync('size')]));
  return seen;
}

/** What issue order gives (and one log gives). */
const IN_ISSUE_ORDER = [undefined, undefined, [undefined, undefined, undefined], undefined, 3, [undefined, undefined, undefined], 7, [undefined, undefined], 4, 1, [undefined, 2]];

describe('parallel logs: issue order across sync and async forms, as on one log', () => {
  for (const combine of ['microtask', 'immediate'] as const) {
    it(`combine '${combine}': a multi-log op never overtakes an async write queued before it, nor is overtaken by one queued after`, async () => {
      for (const logs of [1, 2, 4]) {
        const v = open(logs, combine);
        expect(await script(v), `${logs} log(s)`).toEqual(IN_ISSUE_ORDER);
        v.detach();
      }
    });
  }
});
