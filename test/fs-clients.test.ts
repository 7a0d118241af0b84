/**
 * NrFS clients (connectFs): threads without a replica, served by a node in
 * a worker. The same calls give the same results and errors as on an
 * attached replica; a client's fds are its own (an unlinked file it holds
 * stays readable until its close); a client and a replica writing the same
 * page lose nothing; a client killed at each phase of a write leaves no
 * page behind once a replica swept it; a client whose node was declared
 * dead gets NodeGoneError.
 */
import { describe, expect, it } from 'vitest';
import { attachFs, connectFs, createFs, declareFsClientDead, FsArgumentError, FsError, nodeFs } from '../src/fs/index.js';
import { CapacityError, clientRequestsPending, declareDead, NodeGoneError } from '../src/nr/index.js';
import { heldBy, next, nodeWorker, spawn } from './support/fs-client-workers.js';


/** The same calls through a facade, under `base`: every result, or the error's class, code, syscall and message (base written as <base>). */
function script(fs: ReturnType<typeof nodeFs>, base: string): unknown[] {
  const out: unknown[] = [];
  const run = (f: () => unknown): void => {
    try {
      const v = f();
      out.push(v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v === undefined ? 'ok' : JSON.parse(JSON.stringify(v, (k, x) => (typeof x === 'string' ? x.split(base).join('<base>') : x))));
    } catch (e) {
      const err = e as FsError;
      out.push({ cls: e instanceof FsError ? 'FsError' : e instanceof FsArgumentError ? 'FsArgumentError' : (e as Error).constructor.name, code: err.code, syscall: err.syscall, message: err.message.split(base).join('<base>') });
    }
  };
  run(() => fs.mkdirSync(base));
  run(() => fs.writeFileSync(`${base}/a`, 'hello'));
  run(() => fs.appendFileSync(`${base}/a`, ' world'));
  run(() => fs.readFileSync(`${base}/a`, 'utf8'));
  run(() => fs.statSync(`${base}/a`).size);
  run(() => {
    const fd = fs.openSync(`${base}/a`, 'r+');
    const w1 = fs.writeSync(fd, Buffer.from('XYZ'), 0, 3, 4094); // across the page boundary, past the end: a hole before it
    const w2 = fs.writeSync(fd, Buffer.from('ab'), 0, 2, 2);
    const b = Buffer.alloc(12);
    const r1 = fs.readSync(fd, b, 0, 12, 0);
    const b2 = Buffer.alloc(8);
    const r2 = fs.readSync(fd, b2, 0, 8, 4092);
    fs.ftruncateSync(fd, 4095);
    const size = fs.fstatSync(fd).size;
    fs.closeSync(fd);
    return [w1, w2, r1, b.toString('hex'), r2, b2.toString('hex'), size];
  });
  run(() => fs.readFileSync(`${base}/a`).subarray(4090).toString('hex'));
  run(() => fs.writeFileSync(`${base}/big`, Buffer.alloc(300_000, 9)));
  run(() => fs.readFileSync(`${base}/big`).equals(Buffer.alloc(300_000, 9)));
  run(() => fs.truncateSync(`${base}/big`, 5000));
  run(() => fs.readFileSync(`${base}/big`).toString('hex', 4990));
  run(() => fs.mkdirSync(`${base}/d`));
  run(() => fs.symlinkSync('a', `${base}/l`));
  run(() => fs.readlinkSync(`${base}/l`));
  run(() => fs.readFileSync(`${base}/l`, 'utf8').length);
  run(() => fs.readdirSync(base));
  run(() => fs.readdirSync(base, { withFileTypes: true }).map((d) => [d.name, d.isDirectory(), d.isSymbolicLink()]));
  run(() => fs.renameSync(`${base}/a`, `${base}/d/b`));
  run(() => fs.renameSync(`${base}/big`, `${base}/d/b`));
  run(() => fs.statSync(`${base}/d/b`).size);
  run(() => fs.existsSync(`${base}/a`));
  run(() => fs.unlinkSync(`${base}/l`));
  // Errors, with node:fs's codes.
  run(() => fs.openSync(`${base}/missing`, 'r'));
  run(() => fs.mkdirSync(`${base}/d`));
  run(() => fs.rmdirSync(`${base}/d`));
  run(() => fs.readdirSync(`${base}/d/b`));
  run(() => fs.openSync(`${base}/d`, 'w'));
  run(() => fs.unlinkSync(`${base}/d`));
  run(() => fs.writeFileSync(`${base}/d/b/x`, 'x'));
  run(() => fs.readSync(999, Buffer.alloc(1), 0, 1, 0));
  run(() => {
    const fd = fs.openSync(`${base}/d/b`, 'r');
    try {
      return fs.writeSync(fd, 'x');
    } finally {
      fs.closeSync(fd);
    }
  });
  run(() => fs.openSync(`${base}/d/b`, 'wx'));
  run(() => fs.unlinkSync(`${base}/d/b`));
  run(() => fs.rmdirSync(`${base}/d`));
  run(() => fs.readdirSync(base));
  return out;
}

describe('NrFS clients', () => {
  it('a client gets the results and errors an attached replica gets, through the node:fs facade', async () => {
    const h = createFs({ replicas: 2, clients: 2, capacityBytes: 16 << 20 });
    const { slot } = await nodeWorker(h);
    const replica = attachFs(h);
    const client = connectFs(h, { node: slot });
    expect(client.nodeSlot).toBe(slot);
    const viaReplica = script(nodeFs(replica), '/r');
    const viaClient = script(nodeFs(client), '/c');
    expect(viaClient).toEqual(viaReplica);
    // The script did run its errors (the first one listed is ENOENT of open).
    expect(viaClient).toContainEqual({ cls: 'FsError', code: 'ENOENT', syscall: 'open', message: "ENOENT: no such file or directory, open '<base>/missing'" });
    expect(viaClient).toContainEqual({ cls: 'FsError', code: 'ENOTEMPTY', syscall: 'rmdir', message: "ENOTEMPTY: directory not empty, rmdir '<base>/d'" });
    // Each sees the other's files (one file system).
    expect(replica.readdir('/c')).toEqual([]);
    expect(client.readdir('/')).toEqual(['c', 'r']);
    // Promises too (the same synchronous ops).
    const p = nodeFs(client).promises;
    await p.writeFile('/c/p', 'promised');
    expect(await p.readFile('/c/p', 'utf8')).toBe('promised');
    expect(replica.readFile('/c/p', 'utf8')).toBe('promised');
    client.detach();
    replica.detach();
  });

  it('its fds are its own: an unlinked file it holds stays readable, and is freed at its close', async () => {
    const h = createFs({ replicas: 2, clients: 1, capacityBytes: 16 << 20 });
    const { slot } = await nodeWorker(h);
    const replica = attachFs(h);
    const client = connectFs(h, { node: slot });
    const before = replica.usage();
    const fd = client.open('/u', 'w+');
    expect(fd).toBe(3);
    client.write(fd, Buffer.alloc(10_000, 0x41));
    // The replica's fd numbers are its own: its first is 3 as well, on another file.
    const rfd = replica.open('/other', 'w');
    expect(rfd).toBe(3);
    replica.close(rfd);
    replica.unlink('/u');
    expect(replica.exists('/u')).toBe(false);
    const buf = Buffer.alloc(10_000);
    expect(client.pread(fd, buf, 0, 10_000, 0)).toBe(10_000);
    expect(buf.equals(Buffer.alloc(10_000, 0x41))).toBe(true);
    expect(client.fstat(fd).nlink).toBe(0);
    expect(replica.usage().inodes).toBe(before.inodes + 2); // the orphan and /other
    client.close(fd);
    expect(replica.usage()).toEqual({ pages: 0, inodes: before.inodes + 1, dataBytes: 0 });
    expect(() => client.fstat(fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    client.detach();
    replica.detach();
  });

  it('a close sends the node nothing unless some op may have made an orphan since the open (then it reaps)', async () => {
    const h = createFs({ replicas: 2, clients: 1, capacityBytes: 16 << 20 });
    const { slot } = await nodeWorker(h);
    const replica = attachFs(h);
    const client = connectFs(h, { node: slot });
    /** Requests the client has sent its node (NR's client: its private TAIL). */
    const sent = (): number => (client as unknown as { client: { tail: number } }).client.tail;
    replica.writeFile('/c', 'x');
    const a = client.open('/a', 'w'); // a create: one logged op
    let t = sent();
    client.close(a);
    expect(sent()).toBe(t); // nothing asked
    const b = client.open('/b', 'w');
    replica.unlink('/c'); // held by nobody: freed, no orphan
    t = sent();
    client.close(b);
    expect(sent()).toBe(t);
    const d = client.open('/d', 'w');
    const e = client.open('/e', 'w');
    replica.unlink('/d'); // held by the client: an orphan
    t = sent();
    client.close(e); // an orphaning since /e's open: asks (orphansKeyed), finds none of /e
    expect(sent()).toBe(t + 1);
    expect(replica.usage().inodes).toBe(1 + 4); // the root, /a, /b, /e and the orphan /d
    client.close(d); // asks, and reaps /d
    expect(sent() - t).toBeGreaterThanOrEqual(3);
    expect(replica.usage().inodes).toBe(1 + 3);
    client.detach();
    replica.detach();
  });

  it('a client and a replica writing halves of one page lose none of each other\'s bytes', async () => {
    const h = createFs({ replicas: 1, clients: 1, capacityBytes: 16 << 20 });
    const { w, slot } = await nodeWorker(h);
    const client = connectFs(h, { node: slot });
    client.writeFile('/same', Buffer.alloc(4096, 0));
    const n = 300;
    const wrote = next<{ wrote: number }>(w, 60_000);
    w.postMessage({ write: n }); // the node writes [100, 200) n times while the client writes [0, 100)
    const fd = client.open('/same', 'r+');
    for (let k = 1; k <= n; k++) client.pwrite(fd, Buffer.alloc(100, k & 0xff), 0, 100, 0);
    expect((await wrote).wrote).toBe(n);
    const page = Buffer.alloc(4096);
    expect(client.pread(fd, page, 0, 4096, 0)).toBe(4096);
    expect(page.subarray(0, 100).equals(Buffer.alloc(100, n & 0xff))).toBe(true);
    expect(page.subarray(100, 200).equals(Buffer.alloc(100, n & 0xff))).toBe(true);
    expect(page.subarray(200).equals(Buffer.alloc(3896, 0))).toBe(true);
    client.close(fd);
    client.detach();
  });

  for (const phase of ['afterTake', 'afterStage', 'afterLog'] as const) {
    it(`a client killed ${phase} of a write: a replica sweeps its pages, the file holds the old or the new bytes, whole`, async () => {
      const h = createFs({ replicas: 2, clients: 2, capacityBytes: 16 << 20 });
      const node = await nodeWorker(h);
      const main = attachFs(h);
      main.writeFile('/f', Buffer.alloc(8192, 0x6f));
      const w = spawn({ handle: h, mode: 'client', phase });
      const m = await next<{ stopped: string; threadId: number; owner: number }>(w);
      expect(m.stopped).toBe(phase);
      // The write's two pages (4000..4200 spans pages 0 and 1) are the client's until its op is applied.
      expect(heldBy(h, m.owner).taken).toBe(phase === 'afterLog' ? 0 : 2);
      await w.terminate();
      const freedBefore = main.pageStats().freed;
      expect(declareFsClientDead(h, m.threadId)).toEqual([m.owner]);
      expect(clientRequestsPending(h.nr, m.threadId)).toBe(0);
      expect(main.releaseClients()).toBe(1);
      node.w.postMessage('sync');
      await next(node.w);
      const stats = main.pageStats(); // frees what every replica passed
      expect(heldBy(h, m.owner)).toEqual({ taken: 0, retiring: 0 });
      // The swept pages were freed through this replica: into its cache (TAKEN under its slot, for its next write), or the stack.
      expect(stats.retiring).toBe(0);
      // Nothing was logged before afterLog, so nothing was displaced: what this replica freed is exactly the client's two pages.
      if (phase !== 'afterLog') expect(stats.freed - freedBefore).toBe(2);
      expect(heldBy(h, main.replica.id)).toEqual({ taken: stats.cached, retiring: 0 });
      const data = main.readFile('/f');
      const expected = Buffer.alloc(8192, 0x6f);
      if (phase === 'afterLog') expected.fill(0x6e, 4000, 4200);
      expect(data.equals(expected)).toBe(true);
      // Every page is accounted for: the file's two are LIVE, nothing else is held by anyone.
      expect(main.usage().pages).toBe(2);
      // The id is free again: the next client gets it.
      const again = connectFs(h, { node: node.slot });
      expect(again.ownerId).toBe(m.owner);
      again.detach();
      main.detach();
    });
  }

  it('a client whose node was declared dead gets NodeGoneError, and nothing it sends takes effect', async () => {
    const h = createFs({ replicas: 2, clients: 1, capacityBytes: 16 << 20 });
    const { w, slot } = await nodeWorker(h);
    const main = attachFs(h);
    const client = connectFs(h, { node: slot });
    client.writeFile('/before', 'x');
    await w.terminate();
    declareDead(h.nr, slot);
    main.releaseSlot(slot);
    const gone = (f: () => unknown): NodeGoneError => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(NodeGoneError);
        return e as NodeGoneError;
      }
      throw new Error('expected NodeGoneError');
    };
    expect(gone(() => client.stat('/before')).committed).toBe(false);
    expect(gone(() => client.writeFile('/after', 'y')).committed).toBe(false);
    expect(gone(() => client.open('/before', 'r')).committed).toBe(false);
    expect(main.exists('/after')).toBe(false);
    expect(main.readFile('/before', 'utf8')).toBe('x');
    // The write's page came back to the client (never sent): its close gives it back to the pool.
    expect(client.pageStats().cached).toBe(1);
    client.detach();
    expect(main.releaseClients()).toBe(1); // its open-table region (the node went away under it) is swept
    main.pageStats();
    expect(heldBy(h, client.ownerId)).toEqual({ taken: 0, retiring: 0 });
    main.detach();
  });

  it('refuses what it cannot do, with typed errors', async () => {
    expect(() => connectFs(createFs({ replicas: 1 }))).toThrow(CapacityError);
    expect(() => createFs({ maxReplicas: 60, clients: 5 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    const h = createFs({ replicas: 1, clients: 1, capacityBytes: 16 << 20 });
    const { slot } = await nodeWorker(h);
    expect(() => connectFs(h, { node: slot, bogus: 1 } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    const client = connectFs(h, { node: slot });
    expect(() => connectFs(h, { node: slot })).toThrow(CapacityError); // one client id
    expect(() => client.replica).toThrow(TypeError);
    expect(() => client.releaseClients()).toThrow(TypeError);
    expect(() => client.watch('/', () => {})).toThrow(expect.objectContaining({ code: 'ENOTSUP', syscall: 'watch' }));
    // A write whose page refs do not fit the client's slot: EFBIG, nothing logged.
    expect(() => client.writeFile('/huge', Buffer.alloc(4 << 20))).toThrow(expect.objectContaining({ code: 'EFBIG' }));
    expect(client.exists('/huge')).toBe(false);
    client.detach();
  });

  it('a client table whose header was forged (ids over the replica slots or past the pool\'s owners) is refused, with no id taken', () => {
    const h = createFs({ replicas: 1, clients: 2 });
    const words = new Int32Array(h.clientOwners!);
    const [first, count] = [words[1]!, words[2]!];
    for (const [f, c] of [[0, count], [first, 64], [first, -1], [-5, count]] as const) {
      words[1] = f;
      words[2] = c;
      expect(() => connectFs(h)).toThrow(TypeError);
    }
    words[1] = first;
    words[2] = count;
    expect([...words.subarray(16, 16 + count)]).toEqual([0, 0]); // the OWNER words (the read fences follow)
  });
});
