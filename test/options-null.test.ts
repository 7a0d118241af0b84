// An option given as null is a typed error at the call site in every module, as in NR
// (nr-bad-input.test.ts): read as "the default" it would hide a caller's bug, a lookup that found nothing.
import { describe, expect, it } from 'vitest';
import { createSite, createStream, ClusterConfigError } from '../src/cluster/index.js';
import { connectFs, createFs, FsArgumentError } from '../src/fs/index.js';
import { attachKv, createKv, KvConfigError } from '../src/kv/index.js';
import { BadArgumentError, createScheduler } from '../src/sched/index.js';
import { HashMap } from '../src/nr/structures/index.js';

const key = new Uint8Array(32).fill(7);

describe('an option that is null', () => {
  it('kv: createKv and attachKv refuse it with KvConfigError, naming the option', () => {
    for (const name of ['pwhash', 'arenaBytes', 'maxKeyBytes', 'maxValueBytes', 'encrypt', 'log']) {
      expect(() => createKv({ key, [name]: null })).toThrow(KvConfigError);
      expect(() => createKv({ key, [name]: null })).toThrow(`option '${name}' is null`);
    }
    const h = createKv({ key });
    expect(() => attachKv(h, { key, maxPwhash: null as never })).toThrow(KvConfigError);
    expect(() => attachKv(h, { key, staleMs: null as never })).toThrow("option 'staleMs' is null");
    const s = attachKv(h, { key });
    s.put('k', 'v');
    expect(s.get('k')?.toString()).toBe('v');
  });

  it('fs: createFs and connectFs refuse it, and connectFs refuses options that are not an object', () => {
    for (const name of ['replicas', 'logBytes', 'capacityBytes']) {
      expect(() => createFs({ [name]: null })).toThrow(FsArgumentError);
      expect(() => createFs({ [name]: null })).toThrow(`option '${name}' is null`);
    }
    const h = createFs({ clients: 1 });
    expect(() => connectFs(h, null as never)).toThrow(FsArgumentError);
    expect(() => connectFs(h, { uid: null as never })).toThrow("connectFs: option 'uid' is null");
  });

  it('sched: createScheduler refuses it with BadArgumentError', () => {
    expect(() => createScheduler({ kinds: ['a'], threads: null as never })).toThrow(BadArgumentError);
    expect(() => createScheduler({ kinds: ['a'], threads: null as never })).toThrow("option 'threads' is null");
  });

  it('cluster: createStream and createSite refuse it with ClusterConfigError before connecting', async () => {
    const servers = ['nats://127.0.0.1:1'];
    await expect(createStream(HashMap, { stream: 's', servers, replicas: null as never })).rejects.toThrow("createStream: option 'replicas' is null");
    const site = createSite({ stream: 's', servers, structure: { module: 'x', export: 'y' }, readTimeoutMs: null as never });
    await expect(site).rejects.toThrow(ClusterConfigError);
    await expect(site).rejects.toThrow("createSite: option 'readTimeoutMs' is null");
  });
});
