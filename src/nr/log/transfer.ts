/**
 * State transfer: how a fenced or newly joining replica gets a snapshot of
 * the structure, at a known log position, from a live replica.
 *
 * ## Shared memory
 * Control words on the log's TRANSFER line (layout.ts), one transfer at a time:
 *
 * | word | what |
 * |---|---|
 * | +0 LOCK | 0 free, else the holder's token: `incarnation << 7 | slot + 1` |
 * | +1 STATUS | 0 idle, 1 requested, 2 serving, 3 ready |
 * | +2 REQUESTER | slot asking |
 * | +3 POS | log position the snapshot reflects |
 * | +4 BYTES | snapshot length |
 * | +5 PROVIDER | slot serving it (set when it claims the request) |
 *
 * The bytes go through `handle.transfer`, a growable SharedArrayBuffer that
 * the provider grows to fit (growth is visible to every thread).
 *
 * ## Protocol
 * 1. The requester takes LOCK with its token, writes REQUESTER, sets
 *    STATUS = requested and nudges every active replica.
 * 2. A provider (any active replica, the next time it runs NR code or its
 *    event loop) claims the request with CAS requested → serving, records
 *    PROVIDER, catches up to ctail, snapshots its state into the buffer, and
 *    then, before publishing, sets the requester's LTAIL to its own ltail
 *    and its slot to Recovering. From that instant the requester holds back
 *    head at the snapshot's position, which head cannot have passed: the
 *    provider holds it there itself. Then POS, BYTES, STATUS = ready (a CAS
 *    from serving: a request withdrawn meanwhile is not answered).
 * 3. The requester restores the snapshot, becomes Active, and replays on
 *    from POS. STATUS and LOCK go back to 0. A requester too slow to take
 *    it before it was fenced again (HEAD already past POS) asks again.
 *
 * ## Dead parties
 * A lock whose holder's slot is dead, re-claimed (another incarnation) or
 * silent for deadAfterMs is broken by the next requester: a joiner killed
 * mid-transfer stalls nobody for long. A request whose provider died the
 * same way is withdrawn and asked again. The requester publishes a
 * heartbeat on every wake, so a live requester is never taken for dead.
 * Every wait is bounded; a request no provider answers within the
 * requester's timeout is withdrawn and reported as a RecoveryError.
 */
import { MAX_SLEEP_MS, waitWhileEqual } from './wait.js';
import { FailStopError, NrError } from '../errors.js';
import { before } from './positions.js';
import type { SharedLog } from './shared-log.js';
import { TRANSFER } from './layout.js';
import { incarnationOf, SlotState, stateOf } from './slot-state.js';

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

function tokenOf(slot: number, word: number): number {
  return (((incarnationOf(word) & 0xffffff) << 7) | (slot + 1)) | 0;
}

/**
 * The party holding `token` (or serving as slot `slot`) can no longer act:
 * its slot is dead, left, or re-claimed, or it has been silent for
 * `silentFactor × deadAfterMs` (a provider may legitimately be busy
 * snapshotting a large state for a while, so it gets a longer bound).
 */
function isGone(log: SharedLog, slot: number, incarnation: number | null, silentFactor = 1): boolean {
  if (slot < 0 || slot >= log.maxReplicas) return true;
  const word = log.slotWord(slot);
  const s = stateOf(word);
  if (s === SlotState.Dead || s === SlotState.Free || s === SlotState.Detached) return true;
  if (incarnation !== null && (incarnationOf(word) & 0xffffff) !== incarnation) return true;
  return log.ownerSilent(slot, silentFactor);
}

/** How much longer than deadAfterMs a provider may stay silent (busy snapshotting) before it counts as dead. */
export const PROVIDER_SILENCE_FACTOR = 5;

function holderGone(log: SharedLog, token: number): boolean {
  return isGone(log, (token & 0x7f) - 1, (token >>> 7) & 0xffffff);
}

/**
 * Break the transfer lock if `slot` holds it (its thread was declared dead).
 * Returns true if it did.
 */
export function breakTransferLockOf(log: SharedLog, slot: number): boolean {
  const w = log.wordsForTransfer();
  const holder = Atomics.load(w, LOCK);
  if (holder === 0 || (holder & 0x7f) - 1 !== slot) return false;
  if (Atomics.compareExchange(w, LOCK, holder, 0) !== holder) return false;
  Atomics.compareExchange(w, STATUS, Atomics.load(w, STATUS), Status.Idle);
  Atomics.notify(w, LOCK);
  return true;
}

/**
 * The requester's side: blocks (bounded) until a live replica hands over a
 * snapshot. Null if the one handed over is already stale (HEAD passed it).
 */
export function requestSnapshot(log: SharedLog, buffer: SharedArrayBuffer, me: number, myWord: number, timeoutMs: number): Snapshot | null {
  const w = log.wordsForTransfer();
  const token = tokenOf(me, myWord);
  const t0 = performance.now();
  // One transfer at a time. A dead or silent holder's lock is taken over.
  for (;;) {
    const holder = Atomics.compareExchange(w, LOCK, 0, token);
    if (holder === 0) break;
    if (holderGone(log, holder) && Atomics.compareExchange(w, LOCK, holder, token) === holder) {
      Atomics.store(w, STATUS, Status.Idle);
      break;
    }
    if (performance.now() - t0 >= timeoutMs) throw new RecoveryError(`the state-transfer lock stayed taken for ${timeoutMs} ms`);
    log.beat(me);
    waitWhileEqual(w, LOCK, holder, -1, performance.now() + MAX_SLEEP_MS);
  }
  const deadline = performance.now() + timeoutMs;
  try {
    Atomics.store(w, REQUESTER, me);
    Atomics.store(w, PROVIDER, -1);
    Atomics.store(w, STATUS, Status.Requested);
    let lastNudge = 0;
    for (;;) {
      log.beat(me);
      const status = Atomics.load(w, STATUS);
      if (status === Status.Ready) break;
      const now = performance.now();
      const providerDied = status === Status.Serving && isGone(log, Atomics.load(w, PROVIDER), null, PROVIDER_SILENCE_FACTOR);
      // Every active replica silent for long (killed, undeclared): nobody will serve.
      const nobodyLive = status === Status.Requested && !log.anyActive(me, PROVIDER_SILENCE_FACTOR);
      if (now >= deadline || providerDied || nobodyLive) {
        // Unclaimed, or claimed by a provider that died while serving: withdraw.
        if (Atomics.compareExchange(w, STATUS, status, providerDied ? Status.Requested : Status.Idle) === status) {
          const word = log.slotWord(me);
          if (stateOf(word) === SlotState.Recovering) log.move(me, word, SlotState.Fenced, 'owner');
          if (nobodyLive) throw new RecoveryError(`no live replica to hand over a snapshot: every active replica has been silent for ${PROVIDER_SILENCE_FACTOR * log.deadAfterMs} ms`);
          if (!providerDied) throw new RecoveryError(`no live replica handed over a snapshot within ${timeoutMs} ms`);
        }
        continue;
      }
      if (status === Status.Requested && now - lastNudge >= 5 * MAX_SLEEP_MS) {
        lastNudge = now;
        for (let r = 0; r < log.maxReplicas; r++) if (r !== me && log.slotState(r) === SlotState.Active) log.nudge(r);
      }
      waitWhileEqual(w, STATUS, status, -1, performance.now() + MAX_SLEEP_MS);
    }
    const n = Atomics.load(w, BYTES);
    const pos = Atomics.load(w, POS);
    // No genuine snapshot is longer than its buffer or past TAIL (TAIL never moves back).
    if (!(n >= 0 && n <= buffer.byteLength) || before(log.tail(), pos)) {
      throw new FailStopError(`the state-transfer words are corrupt: a snapshot of ${n} bytes at position ${pos} (HEAD ${log.head()}, TAIL ${log.tail()})`);
    }
    Atomics.store(w, STATUS, Status.Idle);
    // HEAD past the snapshot: a slow requester was fenced after the hand-over
    // and the log moved on (or POS is forged). Either way it is useless, not
    // proof of corruption: the caller asks again.
    if (before(pos, log.head())) return null;
    return { pos, bytes: new Uint8Array(buffer, 0, n).slice(), provider: Atomics.load(w, PROVIDER) };
  } finally {
    Atomics.compareExchange(w, LOCK, token, 0);
    Atomics.notify(w, LOCK);
  }
}

/** Some replica is waiting for a snapshot (cheap check for providers' hot paths). */
export function snapshotRequested(log: SharedLog): boolean {
  return Atomics.load(log.wordsForTransfer(), STATUS) === Status.Requested;
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
  const w = log.wordsForTransfer();
  if (Atomics.load(w, STATUS) !== Status.Requested) return false;
  const requester = Atomics.load(w, REQUESTER);
  if (requester === me || requester < 0 || requester >= log.maxReplicas || log.slotState(me) !== SlotState.Active) return false;
  if (Atomics.compareExchange(w, STATUS, Status.Requested, Status.Serving) !== Status.Requested) return false;
  Atomics.store(w, PROVIDER, me);
  log.beat(me);
  let bytes: Uint8Array;
  try {
    // A provider found fenced here must not recover while it serves (it
    // would wait for the transfer lock its requester holds): catchUp throws
    // instead, and the request goes back for another provider.
    catchUp();
    bytes = snapshot();
  } catch (e) {
    Atomics.compareExchange(w, STATUS, Status.Serving, Status.Requested);
    throw e;
  }
  log.beat(me);
  if (buffer.byteLength < bytes.length) buffer.grow(bytes.length);
  new Uint8Array(buffer, 0, bytes.length).set(bytes);
  const pos = ltail();
  const handed = handOver(log, me, requester, pos);
  if (handed === -1) {
    Atomics.compareExchange(w, STATUS, Status.Serving, Status.Requested); // let another replica serve
    return false;
  }
  Atomics.store(w, POS, pos);
  Atomics.store(w, BYTES, bytes.length);
  if (Atomics.compareExchange(w, STATUS, Status.Serving, Status.Ready) !== Status.Serving) {
    log.move(requester, handed, SlotState.Fenced, 'provider'); // withdrawn meanwhile: void the hand-over
    return false;
  }
  Atomics.notify(w, STATUS);
  return true;
}

/**
 * Make `requester` hold back head from `pos`, the position of the snapshot
 * the provider `me` just took; the provider holds head there itself. If
 * the provider was fenced meanwhile, head may already be past `pos`: undo,
 * and return -1 (the snapshot must not be used). Else the requester's new
 * STATE word.
 */
export function handOver(log: SharedLog, me: number, requester: number, pos: number): number {
  const word = log.slotWord(requester);
  if (stateOf(word) !== SlotState.Fenced) return -1;
  log.publishLtail(requester, pos);
  const next = log.move(requester, word, SlotState.Recovering, 'provider');
  if (next === -1) return -1;
  if (log.slotState(me) === SlotState.Active) return next;
  log.move(requester, next, SlotState.Fenced, 'provider');
  return -1;
}

/** The requester's STATE word as Active after restoring (from Recovering), or -1 if fenced meanwhile. */
export function finishRecovery(log: SharedLog, me: number): number {
  const word = log.slotWord(me);
  if (stateOf(word) !== SlotState.Recovering) return -1;
  return log.move(me, word, SlotState.Active, 'owner');
}

