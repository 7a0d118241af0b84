/**
 * Test worker for NrFS: attaches a replica and runs either the tree script
 * (creates, renames, disjoint writes) or a register workload (writeFile /
 * readFile / unlink of one small file, recording a stamped history).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachFs, type NrFsHandle } from '../../src/fs/index.js';
import { arriveAndWait, DONE, READY, stamp } from '../support/barrier.js';
import { runScript, setupTree } from '../support/fs-script.js';
import type { Operation } from '../../src/lincheck/index.js';
import { mulberry32 } from '../support/prng.js';

export interface FsWorkerInput {
  mode: 'tree' | 'register' | 'hold';
  handle: NrFsHandle;
  control: SharedArrayBuffer;
  index: number;
  workers: number;
  rounds: number;
  seed: number;
}

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
const fs = attachFs(input.handle);
const history: Operation<FileOp, FileOpOutput>[] = [];
let offsetsOk = true;

if (input.mode === 'hold') {
  // Open a file twice, report, and stay until terminated: a thread that dies with fds open.
  fs.open('/held', 'r');
  fs.open('/held', 'r+');
  parentPort!.postMessage({ slot: fs.replica.id });
  setInterval(() => {}, 1000);
  await new Promise(() => {});
}

if (input.mode === 'tree') {
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
} else {
  await arriveAndWait(words, READY, input.workers);
  const rand = mulberry32(input.seed);
  for (let k = 0; k < input.rounds; k++) {
    const r = rand();
    const call = stamp(words);
    if (r < 0.45) {
      let output: string | undefined;
      try {
        output = fs.readFile('/reg', 'latin1');
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') throw e;
        output = undefined;
      }
      history.push({ client: input.index, call, ret: stamp(words), input: { op: 'read' }, output });
    } else if (r < 0.85) {
      const value = `v${input.index}-${k}`;
      fs.writeFile('/reg', value);
      history.push({ client: input.index, call, ret: stamp(words), input: { op: 'write', value }, output: undefined });
    } else {
      let existed = true;
      try {
        fs.unlink('/reg');
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') throw e;
        existed = false;
      }
      history.push({ client: input.index, call, ret: stamp(words), input: { op: 'unlink' }, output: existed });
    }
  }
}

await arriveAndWait(words, DONE, input.workers);
fs.replica.sync();
const out: FsWorkerOutput = { index: input.index, digest: fs.replica.digest(), history, offsetsOk };
parentPort!.postMessage(out);
// Stay attached until the main thread terminates us: a replica that left early cannot be nudged,
// but one that stays keeps the others' waits short. Detach closes nothing here (all fds closed).
fs.detach();
