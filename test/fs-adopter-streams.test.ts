/**
 * createReadStream / createWriteStream as an adopter's suite drives them:
 * the same options on node:fs (tmpfs) and NrFS's facade must give the same
 * events in the same order, the same own fields (path, flags, mode, start,
 * end, pending, bytesRead / bytesWritten, autoClose) before and after, and
 * the same data and file contents. Also the FileHandle's streams,
 * readLines and readableWebStream.
 */
import * as realFs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { attachFs, createFs, nodeFs } from '../src/fs/index.js';

const shm = realFs.existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const base = mkdtempSync(path.join(shm, 'nrfs-streams-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const nr = nodeFs(attachFs(createFs({ capacityBytes: 16 << 20, maxReplicas: 1 })));
nr.mkdirSync(base, { recursive: true });

type Fs = typeof realFs;
type AnyStream = NodeJS.EventEmitter & Record<string, unknown> & { readable?: boolean; writable?: boolean; write(c: string): void; end(): void };

/** Every event of the stream until 'close' (bounded: 2 s), with its fields at the start and the end. */
function record(fs: Fs, make: (fs: Fs) => unknown): Promise<unknown[]> {
  return new Promise((resolve) => {
    const events: unknown[] = [];
    let s: AnyStream;
    try {
      s = make(fs) as AnyStream;
    } catch (e) {
      return resolve([`throw ${(e as { code?: string }).code} ${(e as Error).message}`]);
    }
    const fields = () => ({
      path: typeof s.path === 'string' ? s.path.replace(base, '') : Buffer.isBuffer(s.path) ? `buffer ${s.path.toString().replace(base, '')}` : s.path,
      flags: s.flags,
      mode: s.mode,
      start: s.start,
      end: s.end,
      pending: s.pending,
      bytes: s.bytesRead ?? s.bytesWritten,
      autoClose: s.autoClose,
    });
    events.push(['fields', fields()]);
    const timer = setTimeout(() => resolve([...events, 'no close within 2 s']), 2000);
    for (const e of ['open', 'ready', 'end', 'finish', 'close', 'error']) {
      s.on(e, (x: unknown) => {
        events.push([e, e === 'error' ? `${(x as { code?: string }).code} ${(x as Error).message.replace(base, '')}` : e === 'open' ? typeof x : undefined]);
        if (e === 'close') {
          clearTimeout(timer);
          events.push(['fields', fields()]);
          resolve(events);
        }
      });
    }
    if (s.readable) s.on('data', (d: unknown) => events.push(['data', Buffer.isBuffer(d) ? d.toString('latin1') : d]));
    else if (s.writable) {
      s.write('abc');
      s.write('def');
      s.end();
    }
  });
}

const f = (name: string): string => `${base}/${name}`;
const cases: Record<string, (fs: Fs) => unknown> = {
  'start and end (inclusive)': (fs) => fs.createReadStream(f('f'), { start: 2, end: 5 }),
  'end Infinity': (fs) => fs.createReadStream(f('f'), { end: Infinity }),
  'start > end': (fs) => fs.createReadStream(f('f'), { start: 5, end: 2 }),
  'start -1': (fs) => fs.createReadStream(f('f'), { start: -1 }),
  'start 1.5': (fs) => fs.createReadStream(f('f'), { start: 1.5 }),
  'start a string': (fs) => fs.createReadStream(f('f'), { start: '1' as unknown as number }),
  'highWaterMark 3, hex': (fs) => fs.createReadStream(f('f'), { highWaterMark: 3, encoding: 'hex' }),
  'encoding as the options': (fs) => fs.createReadStream(f('f'), 'latin1'),
  'a missing file': (fs) => fs.createReadStream(f('nope')),
  'a directory': (fs) => fs.createReadStream(base),
  'an unknown encoding': (fs) => fs.createReadStream(f('f'), { encoding: 'nope' as BufferEncoding }),
  'an fd, start 1': (fs) => fs.createReadStream('', { fd: fs.openSync(f('f'), 'r'), start: 1 }),
  'an fd as a string': (fs) => fs.createReadStream('', { fd: '3' as unknown as number }),
  'a path of type number': (fs) => fs.createReadStream(5 as unknown as string),
  "flags 'a+' creates": (fs) => fs.createReadStream(f('new1'), { flags: 'a+' }),
  'unknown flags: an error event': (fs) => fs.createReadStream(f('f'), { flags: 'zz' }),
  'a bad mode: an error event': (fs) => fs.createWriteStream(f('w0'), { mode: 'zz' as unknown as number }),
  "write at start 2 with 'r+'": (fs) => fs.createWriteStream(f('f2'), { flags: 'r+', start: 2 }),
  'write, plain': (fs) => fs.createWriteStream(f('w1')),
  "write, flags 'a'": (fs) => fs.createWriteStream(f('f3'), { flags: 'a' }),
  'write to a directory': (fs) => fs.createWriteStream(base),
  'write, start -1': (fs) => fs.createWriteStream(f('w2'), { start: -1 }),
  'write, mode 0o600': (fs) => fs.createWriteStream(f('w3'), { mode: 0o600 }),
  'write, flush': (fs) => fs.createWriteStream(f('w4'), { flush: true }),
  'write, flush not a boolean': (fs) => fs.createWriteStream(f('w5'), { flush: 1 as unknown as boolean }),
  'a file: URL': (fs) => fs.createReadStream(new URL(`file://${f('f')}`), { start: 8 }),
  'a Buffer path': (fs) => fs.createReadStream(Buffer.from(f('f')), { start: 8 }),
  'an aborted signal': (fs) => fs.createReadStream(f('f'), { signal: AbortSignal.abort() }),
};

describe('streams: NrFS gives node:fs events and fields', () => {
  for (const fs of [realFs, nr as unknown as Fs]) {
    fs.writeFileSync(f('f'), '0123456789');
    fs.writeFileSync(f('f2'), '0123456789');
    fs.writeFileSync(f('f3'), 'XY');
  }
  for (const [name, make] of Object.entries(cases)) {
    it(name, async () => {
      expect(await record(nr as unknown as Fs, make)).toEqual(await record(realFs, make));
    });
  }
  it("a read error with autoClose false: an 'error', no 'close', the fd still open (node's errorOrDestroy)", async () => {
    const run = (fs: Fs, target: 'a directory' | 'a write-only fd') =>
      new Promise<unknown[]>((resolve) => {
        const fd = target === 'a directory' ? undefined : fs.openSync(f('f'), 'w');
        const s = fs.createReadStream(target === 'a directory' ? base : '', { autoClose: false, ...(fd === undefined ? {} : { fd }) }) as realFs.ReadStream & { fd: number | null };
        const events: unknown[] = [];
        for (const e of ['open', 'ready', 'end', 'close']) s.on(e, () => events.push(e));
        s.resume();
        s.on('error', (err: NodeJS.ErrnoException) => {
          events.push(`error ${err.code}`);
          // Long enough for a 'close' that should not come; then the fd must still be open.
          setTimeout(() => {
            events.push(`destroyed ${s.destroyed}`, `fd open ${typeof s.fd === 'number' && fs.fstatSync(s.fd).size >= 0}`);
            if (typeof s.fd === 'number') fs.closeSync(s.fd);
            resolve(events);
          }, 100);
        });
      });
    for (const target of ['a directory', 'a write-only fd'] as const) {
      const theirs = await run(realFs, target);
      // Given an fd, node opens nothing: no 'open' or 'ready'.
      expect(theirs).toEqual([...(target === 'a directory' ? ['open', 'ready', 'error EISDIR'] : ['error EBADF']), 'destroyed false', 'fd open true']);
      expect(await run(nr as unknown as Fs, target), target).toEqual(theirs);
    }
  });
  it('the files the write streams wrote', () => {
    for (const name of ['f2', 'f3', 'w1', 'w3', 'w4', 'new1']) {
      expect([nr.readFileSync(f(name), 'latin1'), nr.statSync(f(name)).mode]).toEqual([realFs.readFileSync(f(name), 'latin1'), realFs.statSync(f(name)).mode]);
    }
  });
});

describe('FileHandle streams and promisify shapes', () => {
  it('FileHandle.createReadStream, readLines, readableWebStream and its close event', async () => {
    const outcomes = [];
    for (const fs of [realFs, nr as unknown as Fs]) {
      fs.writeFileSync(f('lines'), 'one\ntwo\r\nthree');
      const out: unknown[] = [];
      const h = await fs.promises.open(f('lines'), 'r');
      // node's FileHandle is an EventEmitter with getAsyncId(); @types/node 20 does not declare either.
      (h as unknown as NodeJS.EventEmitter).on('close', () => out.push('handle close'));
      const lines: string[] = [];
      for await (const line of h.readLines()) lines.push(line);
      out.push(lines, h.fd);
      const h2 = await fs.promises.open(f('lines'), 'r');
      const chunks: string[] = [];
      for await (const c of h2.createReadStream({ start: 4, end: 6, encoding: 'utf8' })) chunks.push(c as string);
      out.push(chunks, h2.fd);
      const h3 = await fs.promises.open(f('lines'), 'r');
      const web: number[] = [];
      for await (const c of h3.readableWebStream() as unknown as AsyncIterable<Uint8Array>) web.push(c.byteLength);
      await h3.close();
      out.push(web, typeof (h3 as unknown as { getAsyncId(): number }).getAsyncId());
      const h4 = await fs.promises.open(f('lines-w'), 'w');
      const ws = h4.createWriteStream();
      await new Promise<void>((resolve) => ws.end('written', () => resolve()));
      await new Promise<void>((resolve) => ws.on('close', () => resolve()));
      out.push(fs.readFileSync(f('lines-w'), 'utf8'), h4.fd);
      outcomes.push(out);
    }
    expect(outcomes[1]).toEqual(outcomes[0]);
  });

  it('util.promisify(read/write/readv/writev/exists) resolves what node resolves', async () => {
    const outcomes = [];
    for (const fs of [realFs, nr as unknown as Fs]) {
      fs.writeFileSync(f('p'), 'hello');
      const fd = fs.openSync(f('p'), 'r+');
      const r = (await promisify(fs.read)(fd, Buffer.alloc(3), 0, 3, 0)) as unknown as { bytesRead: number; buffer: Buffer };
      const w = (await promisify(fs.write)(fd, Buffer.from('J'), 0, 1, 0)) as unknown as { bytesWritten: number; buffer: Buffer };
      const rv = (await promisify(fs.readv)(fd, [Buffer.alloc(2)], 0)) as unknown as { bytesRead: number; buffers: Buffer[] };
      const wv = (await promisify(fs.writev)(fd, [Buffer.from('K')], 1)) as unknown as { bytesWritten: number; buffers: Buffer[] };
      const ex = await promisify(fs.exists)(f('p'));
      fs.closeSync(fd);
      outcomes.push([Object.keys(r), r.bytesRead, r.buffer.toString(), Object.keys(w), w.bytesWritten, Object.keys(rv), rv.buffers[0]!.toString(), Object.keys(wv), wv.bytesWritten, ex, fs.readFileSync(f('p'), 'utf8')]);
    }
    expect(outcomes[1]).toEqual(outcomes[0]);
  });
});

describe('FileHandle methods, open and closed, as node:fs', () => {
  type Handle = Record<string, (...a: unknown[]) => Promise<unknown>> & { close(): Promise<void> };
  const shape = (v: unknown): unknown => {
    if (Buffer.isBuffer(v)) return `buf:${v.toString('latin1')}`;
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if ('bytesRead' in o) return { bytesRead: o.bytesRead, buffer: shape(o.buffer) };
      if ('bytesWritten' in o) return { bytesWritten: o.bytesWritten };
      if ('isFile' in o) return `stats:${typeof o.size}:${String(o.size)}`;
      if ('buffers' in o) return (o.buffers as Buffer[]).map(shape);
    }
    return v;
  };
  const cases: Record<string, (h: Handle) => Promise<unknown>> = {
    'read({ buffer, position })': (h) => h.read!({ buffer: Buffer.alloc(4), position: 1 }),
    'read(buffer, { position, length })': (h) => h.read!(Buffer.alloc(4), { position: 2, length: 2 }),
    'read position bigint (the offset)': (h) => h.read!(Buffer.alloc(4), 0, 4, 1n),
    'read position -1': (h) => h.read!(Buffer.alloc(4), 0, 4, -1),
    'read length past the buffer': (h) => h.read!(Buffer.alloc(4), 2, 4, 0),
    'read(null)': (h) => h.read!(null),
    'read offset a string': (h) => h.read!(Buffer.alloc(4), '1', 1, 0),
    'write a string at 1': (h) => h.write!('ZZ', 1),
    'write hex at 0': (h) => h.write!('5a5a', 0, 'hex'),
    'write(buffer, { position })': (h) => h.write!(Buffer.from('QQ'), { position: 3 }),
    'write an empty buffer': (h) => h.write!(Buffer.alloc(0)),
    'write a number': (h) => h.write!(5),
    'readv at 1': (h) => h.readv!([Buffer.alloc(2)], 1),
    'truncate -1': (h) => h.truncate!(-1),
    'truncate 1.5': (h) => h.truncate!(1.5),
    'truncate a string': (h) => h.truncate!('1'),
    'stat bigint': (h) => h.stat!({ bigint: true }),
    "readFile('utf8')": (h) => h.readFile!('utf8'),
    'readFile unknown encoding': (h) => h.readFile!('nope'),
    'writeFile an iterable': (h) => h.writeFile!(['a', 'b']),
    'chmod a bad string': (h) => h.chmod!('zz'),
    'chown uid 1.5': (h) => h.chown!(1.5, 0),
    'utimes a bad atime': (h) => h.utimes!('x', 1),
  };
  for (const [name, run] of Object.entries(cases)) {
    it(name, async () => {
      const out: unknown[] = [];
      for (const fs of [realFs, nr as unknown as Fs]) {
        fs.writeFileSync(f('h'), '0123456789');
        const h = (await fs.promises.open(f('h'), 'r+')) as unknown as Handle;
        try {
          out.push({ ok: shape(await run(h)), file: fs.readFileSync(f('h'), 'latin1') });
        } catch (e) {
          const err = e as { code?: string; name?: string; message?: string };
          out.push({ code: err.code, name: err.name, message: err.message });
        }
        await h.close();
      }
      expect(out[1]).toEqual(out[0]);
    });
  }
  it("a closed handle's methods reject with EBADF 'file closed' naming node's syscall; close again resolves", async () => {
    const out: unknown[] = [];
    for (const fs of [realFs, nr as unknown as Fs]) {
      const h = (await fs.promises.open(f('h'), 'r+')) as unknown as Handle;
      await h.close();
      const row: unknown[] = [await h.close()];
      for (const m of ['read', 'write', 'readv', 'writev', 'stat', 'readFile', 'writeFile', 'appendFile', 'truncate', 'sync', 'datasync', 'chmod', 'chown', 'utimes']) {
        try {
          await h[m]!(m === 'readv' || m === 'writev' ? [Buffer.alloc(1)] : m === 'write' || m === 'writeFile' || m === 'appendFile' ? 'x' : m === 'chmod' ? 0o644 : m === 'chown' ? 0 : m === 'utimes' ? 1 : undefined, m === 'chown' ? 0 : m === 'utimes' ? 1 : undefined);
          row.push([m, 'resolved']);
        } catch (e) {
          const err = e as { code?: string; syscall?: string; message?: string };
          row.push([m, err.code, err.syscall, err.message, Object.keys(err).sort()]);
        }
      }
      out.push(row);
    }
    expect(out[1]).toEqual(out[0]);
  });
});
