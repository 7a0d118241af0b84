/** A single read/write register with compare-and-set. */
import { LincheckError, type Model } from '../types.js';
import { show } from '../values.js';
import { Interner, type Scalar } from './interner.js';

export type RegisterInput<V> =
  | { readonly op: 'read' }
  | { readonly op: 'write'; readonly value: V }
  | { readonly op: 'cas'; readonly expected: V; readonly value: V };

/** `read`: the value; `write`: undefined; `cas`: whether it swapped. */
export type RegisterOutput<V> = V | boolean | undefined;

/** A register holding `init` at first; values compare with `===` (so `1` and `'1'` differ). */
export function registerModel<V extends Scalar>(init: V): Model<V, RegisterInput<V>, RegisterOutput<V>> {
  const values = new Interner<V>();
  return {
    name: 'register',
    init,
    step(state, input) {
      switch (input.op) {
        case 'read':
          return { state, output: state };
        case 'write':
          return { state: input.value, output: undefined };
        case 'cas':
          return state === input.expected ? { state: input.value, output: true } : { state, output: false };
        default:
          throw new LincheckError('ERR_LINCHECK_HISTORY', `register: unknown op ${show((input as { op: unknown }).op)}`);
      }
    },
    hash: (state) => values.id(state),
    readOnly: (input) => input.op === 'read',
    describe(input) {
      if (input.op === 'read') return 'read()';
      if (input.op === 'write') return `write(${show(input.value)})`;
      return `cas(${show(input.expected)} -> ${show(input.value)})`;
    },
  };
}
