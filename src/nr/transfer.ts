/**
 * State transfer: how a fenced or newly joining replica gets a snapshot of
 * the structure, at a known log position, from a live replica.
 *
 * ## Shared memory
 * Control words on the log's TRANSFER line (log.ts), one transfer at a time:
 *
 * | word | what |
 * |---|---|
 * | +0 LOCK | 0 free, else requester slot + 1 |
 * | +1 STATUS | 0 idle, 1 requested, 2 serving, 3 ready |
 * | +2 REQUESTER | slot asking |
 * | +3 POS | log position the snapshot reflects |
 * | +4 BYTES | snapshot length |
 * | +5 PROVIDER | slot that served it |
 *
 * The bytes go through `handle.transfer`, a growable SharedArrayBuffer that
 * the provider grows to fit (growth is visible to every thread).
 *
 * ## Protocol
 * 1. The requester takes LOCK, writes REQUESTER, sets STATUS = requested and
 *    nudges every active replica.
 * 2. A provider (any active replica, the next time it runs NR code or its
 *    event loop) claims the request with CAS requested → serving, catches up
 *    to ctail, snapshots its state into the buffer, and then, before
 *    publishing, sets the requester's LTAIL to its own ltail and its slot to
 *    Recovering. From that instant the requester holds back head at the
 *    snapshot's position, which head cannot have passed: the provider holds
 *    it there itself. Then POS, BYTES, STATUS = ready.
 * 3. The requester restores the snapshot, becomes Active, and replays on
 *    from POS. STATUS and LOCK go back to 0.
 *
 * Every wait here is bounded; a request no provider claims in time is
 * withdrawn (CAS requested → idle) and reported as a RecoveryError.
 */
import { MAX_SLEEP_MS } from './atomics.js';
import { NrError } from './errors.js';
import { SharedLog, SlotState, TRANSFER } from './log.js';

const LOCK = TRANSFER;
const STATUS = TRANSFER + 1;
const REQUESTER = TRANSFER + 2;
const POS = TRANSFER + 3;
const BYTES = TRANSFER + 4;
const PROVIDER = TRANSFER + 5;

const enum Status {
  Idle = 0,
  Requested = 1,
  Serving = 2,
  Ready = 3,
}

/** Default reservation for the snapshot buffer: virtual until used. */
export const DEFAULT_TRANSFER_MAX_BYTES = 1024 * 1024 * 1024;

/** No live replica could hand over a snapshot in time. */
export class RecoveryError extends NrError {
  constructor(message: string) {
    super('ERR_NR_RECOVERY', message);
  }
}

export function createTransferBuffer(maxBytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(0, { maxByteLength: maxBytes });
}

export interface Snapshot {
  pos: number;
  bytes: Uint8Array;
  provider: number;
}

/** The requester's side: blocks (bounded) until a live replica hands over a snapshot. */
export function requestSnapshot(log: SharedLog, buffer: SharedArrayBuffer, me: number, timeoutMs: number): Snapshot {
  const w = log.words;
  let deadline = performance.now() + timeoutMs;
  // One transfer at a time. A holder that keeps it past the bound died
  // mid-transfer (a live one gives up by then): take the lock over.
  for (;;) {
    const holder = Atomics.compareExchange(w, LOCK, 0, me + 1);
    if (holder === 0) break;
    if (performance.now() >= deadline) {
      if (Atomics.compareExchange(w, LOCK, holder, me + 1) === holder) break;
      deadline = performance.now() + timeoutMs;
    }
    Atomics.wait(w, LOCK, holder, MAX_SLEEP_MS);
  }
  deadline = performance.now() + timeoutMs;
  try {
    Atomics.store(w, REQUESTER, me);
    Atomics.store(w, STATUS, Status.Requested);
    let lastNudge = 0;
    for (;;) {
      const status = Atomics.load(w, STATUS);
      if (status === Status.Ready) break;
      const now = performance.now();
      if (now >= deadline) {
        // Unclaimed, or claimed by a provider that died while serving: withdraw.
        if (Atomics.compareExchange(w, STATUS, status, Status.Idle) === status) {
          Atomics.compareExchange(w, log.stateIndex(me), SlotState.Recovering, SlotState.Fenced);
          throw new RecoveryError(`no live replica handed over a snapshot within ${timeoutMs} ms`);
        }
        continue; // it changed just now
      }
      if (status === Status.Requested && now - lastNudge >= 5 * MAX_SLEEP_MS) {
        lastNudge = now;
        for (let r = 0; r < log.maxReplicas; r++) if (r !== me && log.slotState(r) === SlotState.Active) log.nudge(r);
      }
      Atomics.wait(w, STATUS, status, MAX_SLEEP_MS);
    }
    const n = Atomics.load(w, BYTES);
    const snapshot = { pos: Atomics.load(w, POS), bytes: new Uint8Array(buffer, 0, n).slice(), provider: Atomics.load(w, PROVIDER) };
    Atomics.store(w, STATUS, Status.Idle);
    return snapshot;
  } finally {
    Atomics.store(w, LOCK, 0);
    Atomics.notify(w, LOCK);
  }
}

/** Some replica is waiting for a snapshot (cheap check for providers' hot paths). */
export function snapshotRequested(log: SharedLog): boolean {
  return Atomics.load(log.words, STATUS) === Status.Requested;
}

/**
 * The provider's side. `snapshot()` runs after `catchUp()` and must return
 * the state at `ltail()`. Returns true if this call served a request.
 */
export function serveSnapshot(
  log: SharedLog,
  buffer: SharedArrayBuffer,
  me: number,
  catchUp: () => void,
  ltail: () => number,
  snapshot: () => Uint8Array,
): boolean {
  const w = log.words;
  if (Atomics.load(w, STATUS) !== Status.Requested) return false;
  const requester = Atomics.load(w, REQUESTER);
  if (requester === me || log.slotState(me) !== SlotState.Active) return false;
  if (Atomics.compareExchange(w, STATUS, Status.Requested, Status.Serving) !== Status.Requested) return false;
  catchUp();
  const bytes = snapshot();
  if (buffer.byteLength < bytes.length) buffer.grow(bytes.length);
  new Uint8Array(buffer, 0, bytes.length).set(bytes);
  const pos = ltail();
  if (!handOver(log, me, requester, pos)) {
    Atomics.store(w, STATUS, Status.Requested); // let another replica serve
    return false;
  }
  Atomics.store(w, POS, pos);
  Atomics.store(w, BYTES, bytes.length);
  Atomics.store(w, PROVIDER, me);
  Atomics.store(w, STATUS, Status.Ready);
  Atomics.notify(w, STATUS);
  return true;
}

/**
 * Make `requester` hold back head from `pos`, the position of the snapshot
 * the provider `me` just took; the provider holds head there itself. If
 * the provider was fenced meanwhile, head may already be past `pos`: undo,
 * and return false (the snapshot must not be used).
 */
export function handOver(log: SharedLog, me: number, requester: number, pos: number): boolean {
  const w = log.words;
  Atomics.store(w, log.ltailIndex(requester), pos);
  Atomics.store(w, log.stateIndex(requester), SlotState.Recovering);
  if (log.slotState(me) === SlotState.Active) return true;
  Atomics.store(w, log.stateIndex(requester), SlotState.Fenced);
  return false;
}
