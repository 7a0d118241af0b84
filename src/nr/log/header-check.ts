/**
 * Opening a shared log: the checks of its header words before any view is
 * sized by them (shared-log.ts). The header is shared memory too, so every
 * word is validated: a buffer that is no log of this layout, a log of
 * another structure, or a corrupt header is a HandleMismatchError, with
 * nothing read past it.
 */
import { HandleMismatchError } from '../errors.js';
import { isPowerOfTwo } from './create.js';
import { LIMITS } from '../defaults.js';
import type { SharedMemory } from '../shared-memory.js';
import {
  CELL_BYTES,
  geometry,
  type LogGeometry,
  H_CELLS,
  H_DEAD_MS,
  H_FENCE_MS,
  H_FINGERPRINT,
  H_LAYOUT,
  H_MAGIC,
  H_MAX_ENTRY_CELLS,
  H_MAX_REPLICAS,
  LAYOUT,
  MAGIC,
  SLOTS_AT,
} from './layout.js';

/** A log header that passed every check, and the geometry it implies. */
export interface CheckedHeader {
  sab: SharedArrayBuffer;
  words: Int32Array;
  cells: number;
  g: LogGeometry;
  fenceMs: number;
  deadMs: number;
}

/** Check the header of the log in `memory` against `fingerprint`; HandleMismatchError if it is not a sound log of that structure. */
export function checkHeader(memory: SharedMemory, fingerprint: number): CheckedHeader {
  const sab = memory?.buffer;
  if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < SLOTS_AT * 4) {
    throw new HandleMismatchError('handle does not hold a log in shared memory');
  }
  const w = new Int32Array(sab);
  if (w[H_MAGIC] !== MAGIC || w[H_LAYOUT] !== LAYOUT) {
    throw new HandleMismatchError('buffer is not a node-replication log of this layout version');
  }
  if (w[H_FINGERPRINT] !== fingerprint) {
    throw new HandleMismatchError('handle was made for another structure, structure version or op set');
  }
  // The header is shared memory too: check every word before sizing views by it.
  const cells = w[H_CELLS]!;
  const maxReplicas = w[H_MAX_REPLICAS]!;
  if (!isPowerOfTwo(cells) || cells * CELL_BYTES < LIMITS.minLogBytes || cells * CELL_BYTES > LIMITS.maxLogBytes) {
    throw new HandleMismatchError(`log header is corrupt: ${cells} cells`);
  }
  if (!Number.isInteger(maxReplicas) || maxReplicas < 1 || maxReplicas > LIMITS.maxReplicas) {
    throw new HandleMismatchError(`log header is corrupt: ${maxReplicas} replica slots`);
  }
  const g = geometry(cells * CELL_BYTES, maxReplicas);
  if (g.totalBytes > sab.byteLength) throw new HandleMismatchError('log memory is smaller than its header says');
  if (w[H_MAX_ENTRY_CELLS] !== g.maxEntryCells) throw new HandleMismatchError('log header is corrupt: entry size limit');
  const fenceMs = w[H_FENCE_MS]!;
  const deadMs = w[H_DEAD_MS]!;
  if (!(fenceMs >= 1 && deadMs >= 1)) throw new HandleMismatchError('log header is corrupt: timeouts');
  return { sab, words: w, cells, g, fenceMs, deadMs };
}
