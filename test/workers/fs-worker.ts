/**
 * Test worker for NrFS: attaches a replica and runs either the tree script
 * (creates, renames, disjoint writes) or a register workload (writeFile /
 * readFile / unlink of one small file, recording a stamped history).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachFs, connectFs, type NrFs, NrFsClient, type NrFsHandle } from '../../src/fs/index.js';
import { arriveAndWait, DONE, READY, stamp } from '../support/barrier.js';
import { runScript, setupTree } from '../support/fs-script.js';
import type { Operation } from '../../src/lincheck/index.js';
import { mulberry32 } from '../support/prng.js';

export interface FsWorkerInput {
  mode: 'tree' | 'register' | 'pageRegister' | 'hold';
  handle: NrFsHandle;
  control: SharedArrayBuffer;
  index: number;
  workers: number;
  rounds: number;
  seed: number;
  /** Register mode: this thread is an NrFS client (connectFs) of a replica thread, not a replica. */
  client?: boolean;
  /** Register mode, a replica thread: go on past `rounds` (up to 20×) until this many clients are done. */
  outlastClients?: number;
  /** pageRegister mode, a client: pipelined ops kept in flight (preadAsync/pwriteAsync). */
  window?: number;
}

/** Control word: register-mode clients that finished their rounds. */
const CLIENTS_DONE = 40;

/** The register workload's ops on one file: readFile, writeFile (it returns nothing), unlink (did it exist). */
export type FileOp = { readonly op: 'read' } | { readonly op: 'write'; readonly value: string } | { readonly op: 'unlink' };
export type FileOpOutput = string | undefined | boolean;

export interface FsWorkerOutput {
  index: number;
  digest: string;
  history: Operation<FileOp, FileOpOutput>[];
  /** Offsets seen by this thread's sequential reads of its own fd (tree mode). */
  offsetsOk: boolean;
}

const input = workerData as FsWorkerInput;
const words = new Int32Array(input.control);
// A client connects once every replica thread has attached (at the READY barrier below).
const fs: NrFs | null = input.client === true ? null : attachFs(input.handle);
const history: Operation<FileOp, FileOpOutput>[] = [];
let offsetsOk = true;

if (input.mode === 'hold' && fs !== null) {
  // Open a file twice, report, and stay until terminated: a thread that dies with fds open.
  fs.open('/held', 'r');
  fs.open('/held', 'r+');
  parentPort!.postMessage({ slot: fs.replica.id });
  setInterval(() => {}, 1000);
  await new Promise(() => {});
}

if (input.mode === 'tree' && fs !== null) {
  if (input.index === 0) setupTree(fs, input.workers);
  await arriveAndWait(words, READY, input.workers);
  // A private fd on a file every thread also reads: its offset moves only with this thread's reads.
  const fd = fs.open('/data', 'r');
  const one = Buffer.alloc(1);
  runScript(fs, input.index, input.rounds);
  for (let i = 0; i < 5; i++) {
    fs.read(fd, one);
    if (fs.read(fd, one, 0, 1, 0) !== 1) offsetsOk = false;
  }
  // Five reads of one byte: the offset is 5, whatever the other threads read.
  const probe = Buffer.alloc(1);
  const expected = Buffer.alloc(1);
  fs.pread(fd, expected, 0, 1, 5);
  fs.read(fd, probe);
  if (probe[0] !== expected[0]) offsetsOk = false;
  fs.close(fd);
} else if (input.mode === 'pageRegister') {
  await arriveAndWait(words, READY, input.workers);
  await pageRegister(fs ?? connectFs(input.handle));
} else {
  await arriveAndWait(words, READY, input.workers);
  const reg = fs ?? connectFs(input.handle);
  const rand = mulberry32(input.seed);
  const outlast = input.outlastClients ?? 0;
  const more = (k: number): boolean => k < input.rounds || (k < 20 * input.rounds && Atomics.load(words, CLIENTS_DONE) < outlast);
  for (let k = 0; more(k); k++) {
    const r = rand();
    const call = stamp(words);
    if (r < 0.45) {
      let output: string | undefined;
      try {
        output = reg.readFile('/reg', 'latin1');
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') throw e;
        output = undefined;
      }
      history.push({ client: input.index, call, ret: stamp(words), input: { op: 'read' }, output });
    } else if (r < 0.85) {
      const value = `v${input.index}-${k}`;
      reg.writeFile('/reg', value);
      history.push({ client: input.index, call, ret: stamp(words), input: { op: 'write', value }, output: undefined });
    } else {
      let existed = true;
      try {
        reg.unlink('/reg');
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') throw e;
        existed = false;
      }
      history.push({ client: input.index, call, ret: stamp(words), input: { op: 'unlink' }, output: existed });
    }
  }
}

/**
 * Page 0 of /preg as a register: a write puts its value at the start of the
 * whole page (zeros after it), a read returns the bytes before the first 0.
 * A replica thread runs pwrite/pread; a client keeps `window` pipelined ops
 * in flight (pwriteAsync/preadAsync), each stamped when issued and when it
 * settles, and records the order they settled in.
 */
async function pageRegister(reg: NrFs): Promise<void> {
  const PAGE = 4096;
  const fd = reg.open('/preg', 'r+');
  const rand = mulberry32(input.seed);
  const page = (value: string): Buffer => {
    const b = Buffer.alloc(PAGE);
    b.write(value, 'latin1');
    return b;
  };
  const valueOf = (b: Uint8Array, n: number): string => {
    const end = b.subarray(0, n).indexOf(0);
    return Buffer.from(b.subarray(0, end < 0 ? n : end)).toString('latin1');
  };
  const outlast = input.outlastClients ?? 0;
  // A replica thread goes on (up to 3x) while clients work, so their ops overlap; longer histories overwhelm the checker.
  const more = (k: number): boolean => k < input.rounds || (k < 3 * input.rounds && Atomics.load(words, CLIENTS_DONE) < outlast);
  const client = reg instanceof NrFsClient ? reg : null;
  if (client === null) {
    for (let k = 0; more(k); k++) {
      const call = stamp(words);
      if (rand() < 0.5) {
        const b = Buffer.alloc(PAGE);
        const n = reg.pread(fd, b, 0, PAGE, 0);
        history.push({ client: input.index, call, ret: stamp(words), input: { op: 'read' }, output: valueOf(b, n) });
      } else {
        const value = `v${input.index}-${k}`;
        reg.pwrite(fd, page(value), 0, PAGE, 0);
        history.push({ client: input.index, call, ret: stamp(words), input: { op: 'write', value }, output: undefined });
      }
    }
  } else {
    const window = input.window ?? 8;
    let k = 0;
    await new Promise<void>((resolve, reject) => {
      let inFlight = 0;
      const issue = (): void => {
        const seq = k++;
        const call = stamp(words);
        inFlight++;
        const settle = (output: FileOpOutput, op: FileOp): void => {
          history.push({ client: input.index, call, ret: stamp(words), input: op, output });
          inFlight--;
          if (k < input.rounds) issue();
          else if (inFlight === 0) resolve();
        };
        if (rand() < 0.5) {
          const b = Buffer.alloc(PAGE);
          client.preadAsync(fd, b, 0, PAGE, 0).then((n) => settle(valueOf(b, n), { op: 'read' }), reject);
        } else {
          const value = `v${input.index}-${seq}`;
          client.pwriteAsync(fd, page(value), 0, PAGE, 0).then(() => settle(undefined, { op: 'write', value }), reject);
        }
      };
      for (let j = 0; j < window && k < input.rounds; j++) issue();
    });
  }
  reg.close(fd);
}

if (input.client === true) Atomics.add(words, CLIENTS_DONE, 1);
// Replicas keep serving their clients here: the barrier leaves the event loop free.
await arriveAndWait(words, DONE, input.workers);
if (fs === null) {
  parentPort!.postMessage({ index: input.index, digest: '', history, offsetsOk } satisfies FsWorkerOutput);
} else {
  fs.replica.sync();
  const out: FsWorkerOutput = { index: input.index, digest: fs.replica.digest(), history, offsetsOk };
  parentPort!.postMessage(out);
  // Stay attached until the main thread terminates us: a replica that left early cannot be nudged,
  // but one that stays keeps the others' waits short. Detach closes nothing here (all fds closed).
  fs.detach();
}
