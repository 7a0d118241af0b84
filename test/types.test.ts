/**
 * Type tests of the public surface: what the README promises about
 * inference (op names, argument tuples, result types from defineStructure
 * to every call site), the replica and client surfaces, and the kv, fs and
 * sched types. The `expectTypeOf` lines and `@ts-expect-error`s are checked
 * by `tsc` in `npm test`'s build (pretest): a wrong type fails the build.
 * The runtime test below runs the same calls and checks their values.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  attach,
  connect,
  createHandle,
  defineStructure,
  type Client,
  type NrHandle,
  type OpArgs,
  type OpResult,
  type Replica,
  type ReplicaStats,
} from '../src/nr/index.js';
import { HashMap } from '../src/nr/structures/index.js';
import { attachKv, createKv, type CasResult, type KvClient, type KvHandle, type KvStore } from '../src/kv/index.js';
import { attachFs, createFs, nodeFs, type NrFs, type NrFsHandle, type Stats } from '../src/fs/index.js';
import { createScheduler, openScheduler, Runner, type Scheduler, type SchedulerHandle, type SchedSummary } from '../src/sched/index.js';

type Stock = Map<string, number>;
const Inventory = defineStructure({
  name: 'inventory',
  create: (): Stock => new Map(),
  reads: {
    count: (m: Stock, item: string): number => m.get(item) ?? 0,
    items: (m: Stock): string[] => [...m.keys()].sort(),
  },
  writes: {
    add: (m: Stock, item: string, n: number): number => m.set(item, (m.get(item) ?? 0) + n).get(item)!,
    clear: (m: Stock): boolean => (m.clear(), true),
  },
});

/** Never called: its body is what tsc checks. */
function replicaTypes(r: ReturnType<typeof attach<Stock, typeof Inventory.reads, typeof Inventory.writes>>): void {
  expectTypeOf(r.reads.count('apples')).toEqualTypeOf<number>();
  expectTypeOf(r.reads.items()).toEqualTypeOf<string[]>();
  expectTypeOf(r.writes.add('apples', 1)).toEqualTypeOf<number>();
  expectTypeOf(r.read('count', 'pears')).toEqualTypeOf<number>();
  expectTypeOf(r.write('clear')).toEqualTypeOf<boolean>();
  expectTypeOf(r.writeAsync('add', 'pears', 2)).toEqualTypeOf<Promise<number>>();
  expectTypeOf(r.readAsync('items')).toEqualTypeOf<Promise<string[]>>();
  expectTypeOf(r.stats()).toEqualTypeOf<ReplicaStats>();
  expectTypeOf(r.detach).toBeFunction();
  expectTypeOf<OpArgs<typeof Inventory.writes.add>>().toEqualTypeOf<[item: string, n: number]>();
  expectTypeOf<OpResult<typeof Inventory.reads.items>>().toEqualTypeOf<string[]>();
  // @ts-expect-error an argument is missing
  r.writes.add('apples');
  // @ts-expect-error an argument of the wrong type
  r.writes.add('apples', '1');
  // @ts-expect-error no such op
  r.write('remove', 'apples');
  // @ts-expect-error a write is not a read
  r.read('add', 'apples', 1);
  // @ts-expect-error reads take no extra arguments
  r.reads.items('x');
}

function clientTypes(c: Client<Stock, typeof Inventory.reads, typeof Inventory.writes>): void {
  expectTypeOf(c.reads.count('apples')).toEqualTypeOf<number>();
  expectTypeOf(c.writes.add('apples', 1)).toEqualTypeOf<number>();
  expectTypeOf(c.writeAsync('add', 'x', 1)).toEqualTypeOf<Promise<number>>();
  expectTypeOf(c.readAsync('items')).toEqualTypeOf<Promise<string[]>>();
  expectTypeOf(c.close).returns.toEqualTypeOf<void>();
  // @ts-expect-error no such op on a client either
  c.write('remove', 'apples');
  // @ts-expect-error arguments are checked as on a replica
  c.writeAsync('add', 1, 'x');
}

function kvTypes(h: KvHandle, kv: KvStore, client: KvClient): void {
  expectTypeOf(createKv).returns.toEqualTypeOf<KvHandle>();
  expectTypeOf(attachKv).returns.toEqualTypeOf<KvStore>();
  expectTypeOf(kv.get('k')).toEqualTypeOf<Buffer | undefined>();
  expectTypeOf(kv.getString('k')).toEqualTypeOf<string | undefined>();
  expectTypeOf(kv.put('k', 'v')).toEqualTypeOf<number>();
  expectTypeOf(kv.delete('k')).toEqualTypeOf<boolean>();
  expectTypeOf(kv.compareAndSet('k', undefined, 'v')).toEqualTypeOf<CasResult>();
  expectTypeOf(kv.batch([{ type: 'put', key: 'a', value: 'b' }])).toEqualTypeOf<number[]>();
  expectTypeOf(kv.putAsync('k', Buffer.from('v'))).toEqualTypeOf<Promise<number>>();
  expectTypeOf(client.getAsync('k')).toEqualTypeOf<Promise<Buffer | undefined>>();
  // @ts-expect-error a batch op has a type
  kv.batch([{ key: 'a', value: 'b' }]);
  // @ts-expect-error values are strings or bytes
  kv.put('k', 42);
  void h;
}

function fsTypes(h: NrFsHandle, fs: NrFs): void {
  expectTypeOf(createFs).returns.toEqualTypeOf<NrFsHandle>();
  expectTypeOf(attachFs).returns.toEqualTypeOf<NrFs>();
  expectTypeOf(fs.readFile('/a')).toEqualTypeOf<Buffer>();
  expectTypeOf(fs.readFile('/a', 'utf8')).toEqualTypeOf<string>();
  expectTypeOf(fs.stat('/a')).toEqualTypeOf<Stats>();
  expectTypeOf(fs.readdir('/')).toEqualTypeOf<string[]>();
  const nfs = nodeFs(fs);
  expectTypeOf(nfs.readFileSync('/a', 'utf8')).toEqualTypeOf<string>();
  // node:fs overloads this by encoding; NrFS's promises form returns the union (see the report).
  expectTypeOf(nfs.promises.readFile('/a')).toEqualTypeOf<Promise<string | Buffer>>();
  // @ts-expect-error paths are strings, Buffers or URLs
  fs.stat(42);
  void h;
}

function schedTypes(h: SchedulerHandle, s: Scheduler): void {
  expectTypeOf(createScheduler).returns.toEqualTypeOf<SchedulerHandle>();
  expectTypeOf(openScheduler).returns.toEqualTypeOf<Scheduler>();
  expectTypeOf(s.submit<number>('resize', { w: 1 })).toEqualTypeOf<Promise<number>>();
  expectTypeOf(s.submit('resize', null)).toEqualTypeOf<Promise<unknown>>();
  expectTypeOf(s.summary()).toEqualTypeOf<SchedSummary>();
  expectTypeOf(new Runner(s, { resize: (p: { w: number }) => p.w * 2 }).stop).toBeFunction();
  // @ts-expect-error priority is a number
  s.submit('resize', null, { priority: 'high' });
  void h;
}

describe('the public types', () => {
  it('hold at run time too: a replica and a client in this thread return what the types say', async () => {
    void [replicaTypes, clientTypes, kvTypes, fsTypes, schedTypes];
    const handle: NrHandle = createHandle(Inventory, { replicas: 1, clients: 1 });
    const r: Replica<Stock, typeof Inventory.reads, typeof Inventory.writes> = attach(handle, Inventory);
    expect(r.writes.add('apples', 2)).toBe(2);
    expect(await r.writeAsync('add', 'apples', 3)).toBe(5);
    expect(r.reads.count('apples')).toBe(5);
    expect(r.read('items')).toEqual(['apples']);
    r.detach();
    const m = attach(createHandle(HashMap, { replicas: 1 }), HashMap);
    m.writes.put(1, 10);
    expect(m.reads.get(1)).toBe(10);
    m.detach();
    expect(typeof connect).toBe('function');
  });
});
