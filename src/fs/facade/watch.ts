/**
 * fs.watch and fs.watchFile over NrFS. `watch` is driven by the log: the
 * thread's replica reports each op it applies (any thread's) to the inodes
 * watched (see changes.ts), with node's event names: 'rename' when a name
 * appears or goes (in a watched directory, or the watched file's own),
 * 'change' when data or attributes change. `watchFile` stats on a timer,
 * as node's does (its interval is the point of the API).
 */
import { EventEmitter } from 'node:events';
import { posix } from 'node:path';
import { FsError } from '../errors.js';
import { Stats } from '../stats.js';
import { checkCallback, type FacadeContext, invalidType, optBool, optionsOf } from './args.js';
import type { PathArg } from './sync.js';
import { SELF_ONLY } from '../state.js';

type WatchListener = (event: 'rename' | 'change', filename: string | Buffer | null) => void;

export interface WatchOptions {
  persistent?: boolean;
  recursive?: boolean;
  encoding?: BufferEncoding | 'buffer';
  signal?: AbortSignal;
}

/** node's FSWatcher: 'change' (eventType, filename), 'close', 'error'; close(), ref(), unref(). */
export class FSWatcher extends EventEmitter {
  private readonly stops: (() => void)[] = [];
  private readonly refs: ((on: boolean) => void)[] = [];
  private closed = false;

  /** @internal */
  add(stop: () => void, ref: (on: boolean) => void): void {
    this.stops.push(stop);
    this.refs.push(ref);
  }

  /** @internal */
  removeWatch(index: number): void {
    this.stops[index]?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const stop of this.stops) stop();
    process.nextTick(() => this.emit('close'));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  ref(): this {
    for (const r of this.refs) r(true);
    return this;
  }

  unref(): this {
    for (const r of this.refs) r(false);
    return this;
  }
}

const ZERO = new Stats({ ino: 0, mode: 0, nlink: 0, uid: 0, gid: 0, size: 0, blocks: 0, atimeMs: 0, mtimeMs: 0, ctimeMs: 0, birthtimeMs: 0 });

/** node's StatWatcher for watchFile: the listener gets (current, previous) Stats when they differ. */
export class StatWatcher extends EventEmitter {
  timer: ReturnType<typeof setInterval> | null = null;
}

export function watchCalls(c: FacadeContext) {
  const core = c.core;
  const statWatchers = new Map<string, { w: StatWatcher; prev: Stats }>();

  /**
   * Watch directory `abs`: ('rename', entry) for names that come and go, and
   * ('change', entry) for data changes of a child (each child's inode is
   * watched too, refreshed on every 'rename'), as inotify does; names are
   * `prefix` + entry. With `recursive`, subdirectories are watched the same
   * way, their names prefixed with their path below the top (node's form).
   */
  function watchDir(abs: string, prefix: string, emit: (event: 'rename' | 'change', n: string) => void, recursive: boolean, persistent: boolean): { stop: () => void; ref: (on: boolean) => void } {
    const children = new Map<string, { ino: number; stop: () => void }>();
    const refresh = (): void => {
      let names: string[] = [];
      try {
        names = core.readdir(abs);
      } catch {
        names = [];
      }
      const seen = new Set(names);
      for (const [n, ch] of children) {
        if (!seen.has(n)) {
          ch.stop();
          children.delete(n);
        }
      }
      for (const n of names) {
        let st: Stats;
        try {
          st = core.lstat(`${abs}/${n}`);
        } catch {
          continue;
        }
        const had = children.get(n);
        if (had !== undefined && had.ino === st.ino) continue;
        had?.stop();
        if (recursive && st.isDirectory()) {
          const sub = watchDir(`${abs}/${n}`, `${prefix}${n}/`, emit, true, false);
          children.set(n, { ino: st.ino, stop: sub.stop });
          continue;
        }
        const h = core.watch(`${abs}/${n}`, (event, name) => {
          if (event === 'change' && name !== SELF_ONLY) emit('change', prefix + n);
        }, false);
        children.set(n, { ino: h.ino, stop: h.stop });
      }
    };
    const h = core.watch(abs, (event, n) => {
      if (event === 'rename' && n !== '') {
        refresh();
        emit('rename', prefix + n);
      } else if (event === 'change' && n !== '') {
        // The data of a file created by the same op (see ChangeObserver.changed): inotify reports it to a
        // directory's watcher; node's recursive watcher (its own, over per-file watchers) does not.
        if (!recursive) emit('change', prefix + n);
      } else if (n === '' && prefix === '') {
        emit(event, posix.basename(abs));
      }
    }, persistent);
    refresh();
    return {
      stop: () => {
        h.stop();
        for (const ch of children.values()) ch.stop();
        children.clear();
      },
      ref: h.ref,
    };
  }

  function watch(filename: PathArg, options?: WatchOptions | BufferEncoding | WatchListener, listener?: WatchListener): FSWatcher {
    if (typeof options === 'function') {
      listener = options;
      options = undefined;
    }
    const o = optionsOf(options, {} as WatchOptions) as WatchOptions & Record<string, unknown>;
    const persistent = optBool(o, 'persistent', true);
    const recursive = optBool(o, 'recursive', false);
    // node: the options, then the path, then the listener (EventEmitter's check: 'listener').
    c.checkPathArg(filename);
    if (listener !== undefined) checkCallback(listener, 'listener');
    const w = new FSWatcher();
    if (listener !== undefined) w.on('change', listener);
    const name = (n: string): string | Buffer => (o.encoding === 'buffer' ? Buffer.from(n) : n);
    c.at(filename, 'watch', (abs) => {
      const st = core.stat(abs);
      const own = posix.basename(abs);
      const emit = (event: 'rename' | 'change', n: string): void => {
        if (!w.isClosed) w.emit('change', event, name(n));
      };
      if (!st.isDirectory()) {
        const h = core.watch(abs, (event) => emit(event, own), persistent);
        w.add(h.stop, h.ref);
        return;
      }
      const stop = watchDir(abs, '', emit, recursive, persistent);
      w.add(stop.stop, stop.ref);
    });
    if (o.signal !== undefined) {
      if (o.signal.aborted) process.nextTick(() => w.close());
      else o.signal.addEventListener('abort', () => w.close(), { once: true });
    }
    return w;
  }

  function statOrZero(abs: string): Stats {
    try {
      return core.stat(abs);
    } catch (e) {
      if (e instanceof FsError) return ZERO;
      throw e;
    }
  }

  const same = (a: Stats, b: Stats): boolean =>
    a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.nlink === b.nlink && a.mode === b.mode;

  function watchFile(filename: PathArg, options?: { persistent?: boolean; interval?: number; bigint?: boolean } | ((curr: Stats, prev: Stats) => void), listener?: (curr: Stats, prev: Stats) => void): StatWatcher {
    // node's order: the path, then the listener (anything but an object in the options' place is the listener), then the options.
    const [, abs] = c.cwd.resolve(filename, 'watch');
    if (options === null || typeof options !== 'object') {
      listener = options as typeof listener;
      options = undefined;
    }
    const l = checkCallback(listener, 'listener') as (curr: Stats, prev: Stats) => void;
    const o = optionsOf(options, {}) as { persistent?: boolean; interval?: number } & Record<string, unknown>;
    const persistent = optBool(o, 'persistent', true);
    const interval = o.interval ?? 5007;
    if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 0) throw invalidType('interval', 'of type number', interval);
    let entry = statWatchers.get(abs);
    if (entry === undefined) {
      const w = new StatWatcher();
      const e = { w, prev: statOrZero(abs) };
      entry = e;
      w.timer = setInterval(() => {
        const cur = statOrZero(abs);
        if (!same(cur, e.prev)) {
          const prev = e.prev;
          e.prev = cur;
          w.emit('change', cur, prev);
        }
      }, interval);
      if (!persistent) w.timer.unref();
      statWatchers.set(abs, e);
    }
    entry.w.on('change', l);
    return entry.w;
  }

  function unwatchFile(filename: PathArg, listener?: (curr: Stats, prev: Stats) => void): void {
    const [, abs] = c.cwd.resolve(filename, 'watch');
    const entry = statWatchers.get(abs);
    if (entry === undefined) return;
    if (listener !== undefined) entry.w.off('change', listener);
    else entry.w.removeAllListeners('change');
    if (entry.w.listenerCount('change') === 0) {
      if (entry.w.timer !== null) clearInterval(entry.w.timer);
      entry.w.timer = null;
      statWatchers.delete(abs);
    }
  }

  /**
   * fs.promises.watch: the same events as an async iterator of
   * { eventType, filename }, ended by `signal` (an AbortError, as node's) or
   * by the consumer leaving the loop.
   */
  function watchAsync(filename: PathArg, options?: WatchOptions | BufferEncoding): AsyncIterableIterator<{ eventType: 'rename' | 'change'; filename: string | Buffer | null }> {
    const o = optionsOf(options, {} as WatchOptions) as WatchOptions;
    const queue: { eventType: 'rename' | 'change'; filename: string | Buffer | null }[] = [];
    let wake: (() => void) | null = null;
    let done = false;
    let aborted = false;
    const w = watch(filename, { ...o, signal: undefined }, (eventType, name) => {
      queue.push({ eventType, filename: name });
      wake?.();
    });
    const finish = (): void => {
      done = true;
      w.close();
      wake?.();
    };
    if (o.signal !== undefined) {
      if (o.signal.aborted) aborted = true;
      o.signal.addEventListener('abort', () => {
        aborted = true;
        finish();
      }, { once: true });
    }
    const it: AsyncIterableIterator<{ eventType: 'rename' | 'change'; filename: string | Buffer | null }> = {
      async next() {
        for (;;) {
          if (aborted) {
            finish();
            throw Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
          }
          const e = queue.shift();
          if (e !== undefined) return { value: e, done: false };
          if (done) return { value: undefined, done: true };
          await new Promise<void>((r) => (wake = r));
          wake = null;
        }
      },
      async return() {
        finish();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return it;
      },
    };
    return it;
  }

  return { watch, watchFile, unwatchFile, watchAsync };
}
