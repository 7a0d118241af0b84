/**
 * Change notification for watchers, driven by the NR log.
 *
 * Every replica applies every op; its `ChangeHub` (the state's observer) is
 * told which inodes each applied op changed, and hands that to this thread's
 * watchers. A thread with watchers must apply new ops soon after they are
 * logged, without polling: the handle's `changes` words are a doorbell.
 * A writer rings it (one Atomics.add and notify) after each logged op, but
 * only while some thread watches (WATCHERS > 0, one load otherwise); a
 * watching thread sleeps in `Atomics.waitAsync` on SEQ (bounded: it also
 * wakes once a second), then catches its replica up, which runs the hub.
 */
import type { ChangeObserver } from './state.js';

/** Word indexes in the doorbell (an Int32Array over `NrFsHandle.changes`). */
export const SEQ = 0;
export const WATCHERS = 1;
export const DOORBELL_BYTES = 8;

/** How long a watching thread sleeps without a ring before it looks anyway. */
const WAIT_MS = 1000;

export type ChangeListener = (event: 'rename' | 'change', name: string) => void;

export class ChangeHub implements ChangeObserver {
  private readonly byIno = new Map<number, Set<ChangeListener>>();
  private readonly pending: [ChangeListener, 'rename' | 'change', string][] = [];
  private flushing = false;
  private watching = 0;
  private armed = false;
  /** Keeps the event loop alive while a persistent watcher is open (a waitAsync alone does not). */
  private keepAlive: ReturnType<typeof setInterval> | null = null;
  private persistent = 0;

  constructor(
    private readonly bell: Int32Array,
    /** Catch the replica up with the log (runs `changed` for each op applied). */
    private readonly catchUp: () => void,
  ) {}

  get active(): boolean {
    return this.byIno.size > 0;
  }

  /** Called from inside an apply: queue only (listeners run after the apply, never inside it). */
  changed(ino: number, event: 'rename' | 'change', name: string): void {
    const ls = this.byIno.get(ino);
    if (ls === undefined) return;
    for (const l of ls) this.pending.push([l, event, name]);
    if (!this.flushing) {
      this.flushing = true;
      process.nextTick(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.flushing = false;
    const batch = this.pending.splice(0);
    for (const [l, event, name] of batch) l(event, name);
  };

  /** Listen to changes of inode `ino`; returns the function that stops it. */
  listen(ino: number, listener: ChangeListener, persistent: boolean): { stop: () => void; ref: (on: boolean) => void } {
    let set = this.byIno.get(ino);
    if (set === undefined) this.byIno.set(ino, (set = new Set()));
    set.add(listener);
    if (this.watching++ === 0) {
      Atomics.add(this.bell, WATCHERS, 1);
      this.arm();
    }
    let stopped = false;
    let refd = false;
    const ref = (on: boolean): void => {
      if (stopped || on === refd) return;
      refd = on;
      this.persistent += on ? 1 : -1;
      this.updateKeepAlive();
    };
    ref(persistent);
    const stop = (): void => {
      if (stopped) return;
      ref(false);
      stopped = true;
      const s = this.byIno.get(ino);
      s?.delete(listener);
      if (s !== undefined && s.size === 0) this.byIno.delete(ino);
      if (--this.watching === 0) Atomics.sub(this.bell, WATCHERS, 1);
    };
    return { stop, ref };
  }

  private updateKeepAlive(): void {
    if (this.persistent > 0 && this.keepAlive === null) this.keepAlive = setInterval(() => {}, 1 << 30);
    else if (this.persistent === 0 && this.keepAlive !== null) {
      clearInterval(this.keepAlive);
      this.keepAlive = null;
    }
  }

  /** Sleep until SEQ moves past `seen` (read before the last catch-up, so a ring during it is not missed). */
  private arm(seen = Atomics.load(this.bell, SEQ)): void {
    if (this.armed || this.watching === 0) return;
    this.armed = true;
    const res = Atomics.waitAsync(this.bell, SEQ, seen, WAIT_MS);
    if (res.async) void res.value.then(this.onBell);
    else setImmediate(this.onBell);
  }

  private readonly onBell = (): void => {
    this.armed = false;
    if (this.watching === 0) return;
    const seen = Atomics.load(this.bell, SEQ);
    try {
      this.catchUp();
    } catch {
      // A halted replica (FailStopError) fails every later op of this thread too; watchers just stop seeing changes.
    }
    this.arm(seen);
  };
}

/** After a logged op: wake watching threads, if there are any. */
export function ring(bell: Int32Array): void {
  if (Atomics.load(bell, WATCHERS) === 0) return;
  Atomics.add(bell, SEQ, 1);
  Atomics.notify(bell, SEQ);
}

/** `writes` with every op ringing the doorbell once it is applied (or failed: it was logged either way). */
export function ringing<W extends object>(writes: W, bell: Int32Array): W {
  const out: Record<string, (...a: never[]) => unknown> = {};
  for (const [name, op] of Object.entries(writes) as [string, (...a: never[]) => unknown][]) {
    out[name] = (...args: never[]) => {
      try {
        return op(...args);
      } finally {
        ring(bell);
      }
    };
  }
  return out as W;
}
