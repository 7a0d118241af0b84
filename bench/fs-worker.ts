/**
 * One benchmark thread of the `fs` suite (a piscina task pinned to one pool
 * thread). Every system runs the same loop over the same precomputed page
 * stream and write mask, through a small adapter (`Sys`) so each worker's
 * call sites stay monomorphic; time is measured inside the worker between
 * the shared round start and the end of its window.
 */
import { getHeapStatistics } from 'node:v8';
import * as nodeFs from 'node:fs';
import { attachFs, connectFs, type NrFs, type NrFsClient, type NrFsHandle } from '../src/fs/index.js';
import { arrive, FINISHED, PREPARED, READY, ROUND, waitUntilAtLeast } from './sync.js';
import { keyStream, STREAM, writeMask } from './workload.js';
import { profiled } from './profile.js';

/** nrfs-clients: CLIENT_REPLICAS replicas (worker 0 and 1), every other worker an NrFS client of one of them (connectFs). */
export type FsSystem = 'nrfs' | 'nrfs-clients' | 'tmpfs' | 'memfs' | 'copy-limit';

/** nrfs-clients: replicas (the first workers); the rest are clients, spread over them. */
export const CLIENT_REPLICAS = 2;
/** PRSD/PRSL/PRSP: stat of a deep path (8 names), plain / through 3 symbolic links / through them as a non-root uid (permission checks). */
export type FxWorkload = 'MIX' | 'DRBL' | 'DRBH' | 'DWOL' | 'DWOM' | 'MWCL' | 'MWCM' | 'MWRL' | 'MWRM' | 'PRSD' | 'PRSL' | 'PRSP';
export type Sharing = 'shared' | 'private';

export interface FsWorkerInput {
  system: FsSystem;
  workload: FxWorkload;
  sharing: Sharing;
  writeRatio: number;
  index: number;
  threads: number;
  /** MIX: bytes of the shared file (private files get fileBytes / threads each). */
  fileBytes: number;
  durationMs: number;
  rounds: number;
  coord: SharedArrayBuffer;
  seed: number;
  handle?: NrFsHandle;
  /** tmpfs: the directory standing for '/'. */
  root?: string;
}

export interface FsWorkerOutput {
  /** Per round: ops, wall time, and this thread's on-CPU and run-queue time (Linux schedstat; -1 elsewhere). */
  rounds: { ops: number; elapsedMs: number; cpuMs: number; runqMs: number }[];
  /** File data one replica (or the one copy) holds, after the run. */
  dataBytes?: number;
  inodes?: number;
  /** NrFS: the shared page pool's pages ever touched, in bytes (one copy for every replica). */
  poolBytes?: number;
  /** This thread's V8 heap in use after the run (its replica's page tables and inodes, and the benchmark's own objects). */
  heapBytes?: number;
}

/**
 * Coordination words: sync.ts's READY, PREPARED, ROUND, FINISHED (lines 0-3),
 * SHARED_SETUP on line 4 (worker 0 has made the shared files) and
 * CLIENTS_DONE on line 5 (nrfs-clients: clients that detached; a replica
 * serves them until then). The buffer is FS_COORD_BYTES long.
 */
export const SHARED_SETUP = 64;
export const CLIENTS_DONE = 80;
export const FS_COORD_BYTES = 96 * 4;

const PAGE = 4096;
const MASK = STREAM - 1;
const O_RDWR = nodeFs.constants.O_RDWR;
const O_CREAT_W = nodeFs.constants.O_CREAT | nodeFs.constants.O_WRONLY;

/** The calls a workload needs, over one system. */
interface Sys {
  open(path: string, flags: number): number;
  close(fd: number): void;
  pread(fd: number, buf: Uint8Array, pos: number): number;
  pwrite(fd: number, buf: Uint8Array, pos: number): number;
  mkdir(path: string): void;
  rename(from: string, to: string): void;
  /** stat(2) following links; returns the size. */
  stat(path: string): number;
  symlink(target: string, path: string): void;
  /** Create `path` holding `bytes` bytes of data (no holes). */
  fill(path: string, bytes: number): void;
  /** Catch up with every write made before (replicated systems). */
  sync(): void;
  usage(): { dataBytes: number; inodes: number; poolBytes?: number } | undefined;
  end(): void;
  /** nrfs-clients' client threads: the client, for the pipelined loops (DWOL, DWOM, MIX). */
  pipelined?: NrFsClient;
}

function fillWith(sys: Pick<Sys, 'open' | 'pwrite' | 'close'>, path: string, bytes: number): void {
  const chunk = new Uint8Array(Math.min(bytes, 512 * 1024)).fill(0x5a);
  const fd = sys.open(path, O_CREAT_W);
  for (let at = 0; at < bytes; at += chunk.length) sys.pwrite(fd, at + chunk.length <= bytes ? chunk : chunk.subarray(0, bytes - at), at);
  sys.close(fd);
}

function nrfsSys(handle: NrFsHandle, uid: number, setupAsRoot: boolean): Sys {
  const fs: NrFs = attachFs(handle, { uid, gid: uid });
  // PRSP's worker 0 builds the tree as root (a second replica, detached once the tree is made), then measures as `uid`.
  let root: NrFs | undefined = setupAsRoot && uid !== 0 ? attachFs(handle) : undefined;
  return nrfsCalls(fs, () => root ?? fs, () => {
    root?.detach();
    root = undefined;
    fs.replica.sync();
  });
}

/** A thread of nrfs-clients past the replicas: an NrFS client of replica `index % CLIENT_REPLICAS` (its reads are served caught up: nothing to sync). */
function nrfsClientSys(handle: NrFsHandle, index: number): Sys {
  const fs = connectFs(handle, { node: index % CLIENT_REPLICAS });
  return { ...nrfsCalls(fs, () => fs, () => {}), pipelined: fs };
}

/** The Sys of an NrFs (a replica or a client); `admin` makes the setup's files and the workload's writes. */
function nrfsCalls(fs: NrFs, admin: () => NrFs, sync: () => void): Sys {
  const sys: Sys = {
    open: (p, f) => admin().open(p, f),
    close: (fd) => admin().close(fd),
    pread: (fd, buf, pos) => fs.pread(fd, buf, 0, PAGE, pos),
    pwrite: (fd, buf, pos) => admin().pwrite(fd, buf, 0, buf.length, pos),
    mkdir: (p) => void admin().mkdir(p),
    rename: (a, b) => fs.rename(a, b),
    stat: (p) => fs.stat(p).size,
    symlink: (t, p) => admin().symlink(t, p),
    fill: (p, n) => fillWith(sys, p, n),
    sync,
    usage: () => ({ ...fs.usage(), poolBytes: fs.pageStats().touchedPages * PAGE }),
    end: () => fs.detach(),
  };
  return sys;
}

function tmpfsSys(root: string): Sys {
  const sys: Sys = {
    open: (p, f) => nodeFs.openSync(root + p, f),
    close: (fd) => nodeFs.closeSync(fd),
    pread: (fd, buf, pos) => nodeFs.readSync(fd, buf, 0, PAGE, pos),
    pwrite: (fd, buf, pos) => nodeFs.writeSync(fd, buf, 0, buf.length, pos),
    mkdir: (p) => nodeFs.mkdirSync(root + p),
    rename: (a, b) => nodeFs.renameSync(root + a, root + b),
    stat: (p) => nodeFs.statSync(root + p).size,
    symlink: (t, p) => nodeFs.symlinkSync(t, root + p),
    fill: (p, n) => fillWith(sys, p, n),
    sync: () => {},
    usage: () => undefined,
    end: () => {},
  };
  return sys;
}

async function memfsSys(): Promise<Sys> {
  const { Volume } = await import('memfs');
  const vol = new Volume();
  const sys: Sys = {
    open: (p, f) => vol.openSync(p, f) as number,
    close: (fd) => vol.closeSync(fd),
    pread: (fd, buf, pos) => vol.readSync(fd, buf, 0, PAGE, pos),
    pwrite: (fd, buf, pos) => vol.writeSync(fd, buf, 0, buf.length, pos),
    mkdir: (p) => void vol.mkdirSync(p),
    rename: (a, b) => vol.renameSync(a, b),
    stat: (p) => vol.statSync(p).size,
    symlink: (t, p) => vol.symlinkSync(t, p),
    fill: (p, n) => fillWith(sys, p, n),
    sync: () => {},
    usage: () => undefined,
    end: () => {},
  };
  return sys;
}

/**
 * This thread's on-CPU and run-queue (runnable, waiting for a core) time in
 * ms, from /proc/thread-self/schedstat: on a shared 2-core machine the
 * run-queue share tells a loaded run from a quiet one, and CPU per op stays
 * comparable where ops/s do not. [-1, -1] where it is not available.
 */
function schedTimes(): [number, number] {
  try {
    const [cpu, runq] = nodeFs.readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ');
    return [Number(cpu) / 1e6, Number(runq) / 1e6];
  } catch {
    return [-1, -1];
  }
}

let input: FsWorkerInput;
let coord: Int32Array;
let sink = 0;

/** Files and directories of the workload; the shared ones are made by worker 0. */
function setup(sys: Sys): void {
  const i = input.index;
  const shared = input.sharing === 'shared';
  const mine = input.index === 0 || input.system === 'memfs';
  const memfsAll = input.system === 'memfs';
  const each = (fn: (t: number) => void): void => {
    if (memfsAll) for (let t = 0; t < input.threads; t++) fn(t);
    else fn(i);
  };
  switch (input.workload) {
    case 'MIX':
      if (shared) {
        if (mine) sys.fill('/mix', input.fileBytes);
      } else each((t) => sys.fill(`/mix${t}`, input.fileBytes / input.threads));
      break;
    case 'DRBL':
      each((t) => sys.fill(`/drb${t}`, PAGE));
      break;
    case 'DRBH':
      if (mine) sys.fill('/drb', PAGE);
      break;
    case 'DWOL':
      each((t) => sys.fill(`/dwo${t}`, PAGE));
      break;
    case 'DWOM':
      if (mine) sys.fill('/dwo', PAGE * input.threads);
      break;
    case 'MWCL':
      each((t) => sys.mkdir(`/mwc${t}`));
      break;
    case 'MWCM':
      if (mine) sys.mkdir('/mwc');
      break;
    case 'MWRL':
      each((t) => {
        sys.mkdir(`/mwr${t}`);
        sys.close(sys.open(`/mwr${t}/a`, O_CREAT_W));
      });
      break;
    case 'MWRM':
      if (mine) sys.mkdir('/mwr');
      each((t) => {
        sys.mkdir(`/mwr${t}`);
        sys.close(sys.open(`/mwr${t}/f`, O_CREAT_W));
      });
      break;
    case 'PRSD':
    case 'PRSL':
    case 'PRSP':
      if (mine) {
        // /pr/real/a/b/c/d/e/f/file, and relative links l1 -> real/a, a/l2 -> b/c, c/l3 -> d/e,
        // so /pr/l1/l2/l3/f/file is the same file through 3 links (8 names either way).
        let dir = '/pr';
        sys.mkdir(dir);
        for (const n of ['real', 'a', 'b', 'c', 'd', 'e', 'f']) sys.mkdir((dir += `/${n}`));
        sys.fill(`${dir}/file`, PAGE);
        sys.symlink('real/a', '/pr/l1');
        sys.symlink('b/c', '/pr/real/a/l2');
        sys.symlink('d/e', '/pr/real/a/b/c/l3');
      }
      break;
  }
}

type Window = (end: number) => number | Promise<number>;

/** nrfs-clients: ops a client keeps in flight on the pipelined path (the client's slot ring, CLIENT_SLOTS). */
export const CLIENT_WINDOW = 64;

/**
 * A client thread's DWOL/DWOM/MIX loop on the pipelined path
 * (preadAsync/pwriteAsync): CLIENT_WINDOW ops in flight, one more issued
 * per answer, each read into its own buffer, until `end`.
 */
function pipelinedWindow(fs: NrFsClient, fd: number, next: (k: number) => { write: boolean; pos: number }, buf: Uint8Array): Window {
  const reads = Array.from({ length: CLIENT_WINDOW }, () => new Uint8Array(PAGE));
  let k = 0;
  return (end) =>
    new Promise<number>((resolve, reject) => {
      const from = k;
      let inFlight = 0;
      let failed = false;
      const issue = (slot: number): void => {
        const op = next(k++);
        inFlight++;
        const p = op.write ? fs.pwriteAsync(fd, buf, 0, PAGE, op.pos) : fs.preadAsync(fd, reads[slot]!, 0, PAGE, op.pos);
        p.then((n) => {
          sink += n;
          inFlight--;
          if (!failed && performance.now() < end) issue(slot);
          else if (inFlight === 0) resolve(k - from);
        }, (e: unknown) => {
          failed = true;
          reject(e);
        });
      };
      for (let j = 0; j < CLIENT_WINDOW; j++) issue(j);
    });
}

/** The measured loop of the workload, as a function run once per round. */
function workloadWindow(sys: Sys): Window {
  const i = input.index;
  const buf = new Uint8Array(PAGE).fill(i + 1);
  switch (input.workload) {
    case 'MIX': {
      const path = input.sharing === 'shared' ? '/mix' : `/mix${i}`;
      const bytes = input.sharing === 'shared' ? input.fileBytes : input.fileBytes / input.threads;
      const pages = keyStream('uniform', bytes / PAGE, input.seed);
      const writes = writeMask(input.writeRatio, input.seed);
      const fd = sys.open(path, O_RDWR);
      if (sys.pipelined) {
        const op = { write: false, pos: 0 };
        return pipelinedWindow(sys.pipelined, fd, (k) => {
          op.write = writes[k & MASK] === 1;
          op.pos = pages[k & MASK]! * PAGE;
          return op;
        }, buf);
      }
      let k = 0;
      return (end) => {
        const from = k;
        for (;;) {
          for (let j = 0; j < 64; j++, k++) {
            const pos = pages[k & MASK]! * PAGE;
            if (writes[k & MASK] === 1) sys.pwrite(fd, buf, pos);
            else sink += sys.pread(fd, buf, pos);
          }
          if (performance.now() >= end) return k - from;
        }
      };
    }
    case 'DRBL':
    case 'DRBH':
    case 'DWOL':
    case 'DWOM': {
      const path = input.workload === 'DRBL' ? `/drb${i}` : input.workload === 'DRBH' ? '/drb' : input.workload === 'DWOL' ? `/dwo${i}` : '/dwo';
      const pos = input.workload === 'DWOM' ? i * PAGE : 0;
      const write = input.workload.startsWith('DW');
      const fd = sys.open(path, O_RDWR);
      if (sys.pipelined && write) return pipelinedWindow(sys.pipelined, fd, () => ({ write: true, pos }), buf);
      let k = 0;
      return (end) => {
        const from = k;
        for (;;) {
          for (let j = 0; j < 64; j++, k++) {
            if (write) sys.pwrite(fd, buf, pos);
            else sink += sys.pread(fd, buf, pos);
          }
          if (performance.now() >= end) return k - from;
        }
      };
    }
    case 'MWCL':
    case 'MWCM': {
      const prefix = input.workload === 'MWCL' ? `/mwc${i}/f` : `/mwc/f${i}-`;
      let k = 0;
      return (end) => {
        const from = k;
        for (;;) {
          for (let j = 0; j < 16; j++, k++) sys.close(sys.open(prefix + k, O_CREAT_W));
          if (performance.now() >= end) return k - from;
        }
      };
    }
    case 'PRSD':
    case 'PRSL':
    case 'PRSP': {
      const p = PRS_PATHS[input.workload]!;
      if (sys.stat(p) !== PAGE) throw new Error(`${input.workload}: ${p} does not resolve to the ${PAGE}-byte file`);
      let k = 0;
      return (end) => {
        const from = k;
        for (;;) {
          for (let j = 0; j < 64; j++, k++) sink += sys.stat(p);
          if (performance.now() >= end) return k - from;
        }
      };
    }
    case 'MWRL':
    case 'MWRM': {
      const a = input.workload === 'MWRL' ? `/mwr${i}/a` : `/mwr${i}/f`;
      const b = input.workload === 'MWRL' ? `/mwr${i}/b` : `/mwr/f${i}`;
      let k = 0;
      return (end) => {
        const from = k;
        for (;;) {
          for (let j = 0; j < 16; j++, k++) {
            if ((k & 1) === 0) sys.rename(a, b);
            else sys.rename(b, a);
          }
          if (performance.now() >= end) return k - from;
        }
      };
    }
  }
}

/** PRS*: the path stat'ed in the loop (setup's tree). */
const PRS_PATHS: Record<string, string> = { PRSD: '/pr/real/a/b/c/d/e/f/file', PRSL: '/pr/l1/l2/l3/f/file', PRSP: '/pr/l1/l2/l3/f/file' };

/** The copy limit: 4 KiB pages copied out of a JS heap at random, no file system at all. */
function copyLimitWindow(): Window {
  const n = input.fileBytes / PAGE;
  const pages: Uint8Array[] = [];
  for (let p = 0; p < n; p++) pages.push(new Uint8Array(PAGE).fill(p & 0xff));
  const stream = keyStream('uniform', n, input.seed);
  const buf = new Uint8Array(PAGE);
  let k = 0;
  return (end) => {
    const from = k;
    for (;;) {
      for (let j = 0; j < 64; j++, k++) {
        buf.set(pages[stream[k & MASK]!]!);
        sink += buf[0]!;
      }
      if (performance.now() >= end) return k - from;
    }
  };
}

export default async function runTask(task: FsWorkerInput): Promise<FsWorkerOutput> {
  input = task;
  coord = new Int32Array(input.coord);
  let sys: Sys | undefined;
  let window: Window;
  if (input.system === 'copy-limit') {
    window = copyLimitWindow();
    arrive(coord, READY);
    await waitUntilAtLeast(coord, READY, input.threads);
  } else {
    // PRSP: NrFS threads act as uid 1000 (every directory walked is checked for search permission);
    // tmpfs and memfs run as the process (root on the dev machine: the kernel checks all the same).
    const client = input.system === 'nrfs-clients' && input.index >= CLIENT_REPLICAS;
    sys = client ? nrfsClientSys(input.handle!, input.index) : input.system === 'nrfs' || input.system === 'nrfs-clients' ? nrfsSys(input.handle!, input.workload === 'PRSP' ? 1000 : 0, input.index === 0) : input.system === 'tmpfs' ? tmpfsSys(input.root!) : await memfsSys();
    // Shared files first (worker 0), then everyone's private ones, then catch up.
    if (input.index === 0) {
      setup(sys);
      arrive(coord, SHARED_SETUP);
    }
    // Replay worker 0's setup as it goes: a replica idle through a big setup
    // would hold back the log (and displaced pool pages), and could be fenced.
    while (Atomics.load(coord, SHARED_SETUP) < 1) {
      sys.sync();
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    if (input.index !== 0) setup(sys);
    arrive(coord, READY);
    await waitUntilAtLeast(coord, READY, input.threads);
    sys.sync();
    window = workloadWindow(sys);
  }
  arrive(coord, PREPARED);
  const rounds: FsWorkerOutput['rounds'] = [];
  await profiled(`${input.system}-${input.workload}-w${Math.round(input.writeRatio * 100)}-${input.threads}t-${input.index}`, async () => {
    for (let r = 1; r <= input.rounds; r++) {
      await waitUntilAtLeast(coord, ROUND, r);
      const [cpu0, runq0] = schedTimes();
      const t0 = performance.now();
      const ops = await window(t0 + input.durationMs);
      const elapsedMs = performance.now() - t0;
      const [cpu1, runq1] = schedTimes();
      rounds.push({ ops, elapsedMs, cpuMs: cpu0 < 0 ? -1 : cpu1 - cpu0, runqMs: runq0 < 0 ? -1 : runq1 - runq0 });
      arrive(coord, FINISHED);
    }
  });
  // Nobody detaches before everyone is done: a replica that left cannot slow the others, but one
  // that is still measuring must not see the log change shape under it.
  await waitUntilAtLeast(coord, FINISHED, input.rounds * input.threads);
  let out: FsWorkerOutput = { rounds };
  if (sys) {
    sys.sync();
    const u = sys.usage();
    if (u) out = { ...out, dataBytes: u.dataBytes, inodes: u.inodes, poolBytes: u.poolBytes, heapBytes: getHeapStatistics().used_heap_size };
    if (input.system === 'nrfs-clients') {
      const clients = input.threads - Math.min(input.threads, CLIENT_REPLICAS);
      if (input.index >= CLIENT_REPLICAS) {
        sys.end();
        arrive(coord, CLIENTS_DONE);
      } else {
        // A replica that detached would strand its clients' last calls (NodeGoneError): serve them (idle event loop) until they left.
        await waitUntilAtLeast(coord, CLIENTS_DONE, clients);
        sys.end();
      }
    } else sys.end();
  }
  if (sink === -1) console.log(sink);
  return out;
}
