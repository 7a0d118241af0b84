/**
 * A sequential model of the hashmap with its multi-log ops (size, clear) for
 * the linearizability checker: the whole map is one state (size and clear
 * see every key, so no partitioning by key).
 */
import type { Model } from '../../src/lincheck/index.js';

export type CnrOp =
  | { op: 'get'; key: string }
  | { op: 'put'; key: string; value: number }
  | { op: 'delete'; key: string }
  | { op: 'size' }
  | { op: 'clear' };

function encode(m: Map<string, number>): string {
  return m.size === 0 ? '' : JSON.stringify([...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

export const cnrMapModel: Model<string, CnrOp, unknown> = {
  name: 'hashmap with size and clear',
  init: '',
  step(state, input) {
    const m = new Map<string, number>(state === '' ? [] : (JSON.parse(state) as [string, number][]));
    switch (input.op) {
      case 'get':
        return { state, output: m.get(input.key) };
      case 'size':
        return { state, output: m.size };
      case 'put': {
        const prev = m.get(input.key);
        m.set(input.key, input.value);
        return { state: encode(m), output: prev };
      }
      case 'delete': {
        const had = m.delete(input.key);
        return { state: encode(m), output: had };
      }
      case 'clear':
        return { state: '', output: undefined };
    }
  },
  hash: (s) => s,
  readOnly: (i) => i.op === 'get' || i.op === 'size',
};
