/**
 * Test worker for the open table (test/fs-opens.test.ts). Two modes:
 *
 * - 'commands': attach, report the slot, then run the commands the test
 *   posts ({ id, op, args }) and answer each ({ id, value } or { id, code }).
 * - 'stress': open, read through fds, fstat, close, create, unlink and
 *   rename over a few shared names for `rounds` rounds, holding up to two
 *   fds across rounds, and count every outcome that breaks POSIX's promise
 *   for an open fd (an fd op failing, or reading bytes no write produced).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachFs, type NrFs } from '../../src/fs/index.js';
import { arriveAndWait, DONE, READY } from '../support/barrier.js';
import { FILE_BYTES, NAMES, type OpensCommand, type OpensWorkerInput, type StressOutput } from '../support/fs-opens.js';
import { mulberry32 } from '../support/prng.js';

const input = workerData as OpensWorkerInput;
const words = new Int32Array(input.control);
const fs = attachFs(input.handle);

function codeOf(e: unknown): string {
  const c = (e as { code?: unknown }).code;
  return typeof c === 'string' ? c : String(e);
}

if (input.mode === 'commands') {
  parentPort!.on('message', (c: OpensCommand) => {
    try {
      parentPort!.postMessage({ id: c.id, value: run(fs, c) });
    } catch (e) {
      parentPort!.postMessage({ id: c.id, code: codeOf(e) });
    }
  });
  parentPort!.postMessage({ id: 0, value: fs.replica.id });
} else {
  await arriveAndWait(words, READY, input.workers);
  const out = stress(fs);
  await arriveAndWait(words, DONE, input.workers);
  fs.replica.sync();
  out.digest = fs.replica.digest();
  parentPort!.postMessage(out);
  fs.detach();
}

function run(f: NrFs, c: OpensCommand): unknown {
  const [a, b] = c.args;
  switch (c.op) {
    case 'open':
      return f.open(a as string, b as string);
    case 'pread': {
      const buf = Buffer.alloc(b as number);
      const n = f.pread(a as number, buf, 0, buf.length, 0);
      return buf.subarray(0, n).toString('latin1');
    }
    case 'fstat': {
      const st = f.fstat(a as number);
      return { nlink: st.nlink, size: st.size, ino: st.ino };
    }
    case 'close':
      f.close(a as number);
      return null;
    case 'unlink':
      f.unlink(a as string);
      return null;
    case 'writeFile':
      f.writeFile(a as string, b as string);
      return null;
    case 'logMark':
      return f.replica.logMark();
    case 'digest':
      f.replica.sync();
      return f.replica.digest();
  }
}

/** Is `buf[0..n)` what some write produced: empty, or FILE_BYTES of one nonzero tag? */
function validContent(buf: Buffer, n: number): boolean {
  if (n === 0) return true;
  if (n !== FILE_BYTES) return false;
  const tag = buf.readUInt32LE(0);
  if (tag === 0) return false;
  for (let i = 4; i < n; i += 4) if (buf.readUInt32LE(i) !== tag) return false;
  return true;
}

function stress(f: NrFs): StressOutput {
  const rand = mulberry32(input.seed);
  const out: StressOutput = { index: input.index, digest: '', failures: [], opens: 0, reads: 0, unlinks: 0 };
  const held: { fd: number; name: string }[] = [];
  const buf = Buffer.alloc(FILE_BYTES);
  const data = Buffer.alloc(FILE_BYTES);
  const name = (): string => `/s/f${Math.floor(rand() * NAMES)}`;
  const fail = (what: string, e?: unknown): void => {
    if (out.failures.length < 20) out.failures.push(`worker ${input.index}: ${what}${e === undefined ? '' : ` (${codeOf(e)})`}`);
  };
  /** Read a held fd twice around an fstat: each must work and show bytes some write produced. */
  const check = (h: { fd: number; name: string }): void => {
    try {
      let n = f.pread(h.fd, buf, 0, FILE_BYTES, 0);
      if (!validContent(buf, n)) fail(`read ${n} bytes of ${h.name} that no write produced`);
      const st = f.fstat(h.fd);
      if (st.nlink < 0 || st.nlink > 1) fail(`fstat of ${h.name} gave nlink ${st.nlink}`);
      n = f.pread(h.fd, buf, 0, FILE_BYTES, 0);
      if (!validContent(buf, n)) fail(`read ${n} bytes of ${h.name} that no write produced`);
      out.reads += 2;
    } catch (e) {
      fail(`an fd open on ${h.name} failed`, e);
    }
  };
  for (let k = 0; k < input.rounds; k++) {
    const r = rand();
    if (r < 0.25) {
      data.fill(0);
      const tag = input.index * 1_000_000 + k + 1;
      for (let i = 0; i < FILE_BYTES; i += 4) data.writeUInt32LE(tag, i);
      try {
        f.writeFile(name(), data);
      } catch (e) {
        fail('writeFile', e);
      }
    } else if (r < 0.35) {
      // A create through open (logged), possibly truncating a file others hold: size 0 is what they may read.
      try {
        held.push({ fd: f.open(name(), 'w+'), name: 'a file created or truncated by open' });
        out.opens++;
      } catch (e) {
        fail('open w', e);
      }
    } else if (r < 0.65) {
      const n = name();
      try {
        const fd = f.open(n, 'r');
        out.opens++;
        const h = { fd, name: n };
        check(h);
        held.push(h);
      } catch (e) {
        if (codeOf(e) !== 'ENOENT') fail(`open ${n}`, e);
      }
    } else if (r < 0.85) {
      try {
        f.unlink(name());
        out.unlinks++;
      } catch (e) {
        if (codeOf(e) !== 'ENOENT') fail('unlink', e);
      }
    } else {
      try {
        f.rename(name(), name());
        out.unlinks++;
      } catch (e) {
        if (codeOf(e) !== 'ENOENT') fail('rename', e);
      }
    }
    // Held fds are read again later (others unlink and replace their names meanwhile) and closed.
    while (held.length > 2 || (held.length > 0 && rand() < 0.3)) {
      const h = held.shift()!;
      check(h);
      try {
        f.close(h.fd);
      } catch (e) {
        fail(`close of an fd on ${h.name}`, e);
      }
    }
  }
  for (const h of held) {
    check(h);
    f.close(h.fd);
  }
  return out;
}
