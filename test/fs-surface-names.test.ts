/**
 * node:fs's whole surface, enumerated from node 20 itself: every property
 * of node:fs, fs.promises, FileHandle, Dir, ReadStream, WriteStream, Stats,
 * BigIntStats, StatFs and Dirent must exist on the facade's (of the same
 * kind: function, object, number...), or be listed in NOT_PROVIDED
 * (src/fs/facade/surface.ts) and in docs/fs.md. A name node adds in a
 * later version fails here until it is implemented or listed.
 */
import realFs, { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { attachFs, createFs, nodeFs } from '../src/fs/index.js';
import { NOT_PROVIDED } from '../src/fs/facade/surface.js';

const nr = nodeFs(attachFs(createFs({ capacityBytes: 1 << 20, maxReplicas: 1 })));
const WELL_KNOWN = new Set<symbol>([Symbol.asyncIterator, Symbol.iterator, (Symbol as { asyncDispose?: symbol }).asyncDispose, (Symbol as { dispose?: symbol }).dispose].filter((s): s is symbol => s !== undefined));

/** Names of an object: its own, and its prototypes' up to (not including) `stop` (Object, EventEmitter, Readable...). */
function namesOf(o: object, stops: object[] = [Object.prototype]): string[] {
  const out = new Set<string>();
  for (let p: object | null = o; p !== null && !stops.includes(p); p = Object.getPrototypeOf(p)) {
    for (const k of Reflect.ownKeys(p)) {
      if (k === 'constructor') continue;
      if (typeof k === 'symbol') {
        if (WELL_KNOWN.has(k)) out.add(k.toString());
      } else out.add(k);
    }
  }
  return [...out].sort();
}

function kindOf(o: object, name: string): string {
  const key = name.startsWith('Symbol(') ? [...WELL_KNOWN].find((s) => s.toString() === name)! : name;
  return typeof (o as Record<string | symbol, unknown>)[key];
}

/** Names `theirs` has that `ours` lacks (or has as another kind), minus the listed ones. */
function missing(prefix: string, theirs: object, ours: object, stops?: object[]): string[] {
  const out: string[] = [];
  for (const name of namesOf(theirs, stops)) {
    const label = prefix === '' ? name : `${prefix}.${name}`;
    if (label in NOT_PROVIDED) continue;
    const inOurs = name.startsWith('Symbol(') ? namesOf(ours, stops).includes(name) : name in ours;
    if (!inOurs) out.push(`${label} (missing)`);
    else if (kindOf(theirs, name) !== kindOf(ours, name) && kindOf(theirs, name) !== 'undefined') out.push(`${label} (${kindOf(theirs, name)} in node, ${kindOf(ours, name)} here)`);
  }
  return out;
}

const base = realFs.mkdtempSync('/dev/shm/nrfs-names-');
afterAll(() => realFs.rmSync(base, { recursive: true, force: true }));

describe('the facade has every name of node:fs (or lists it as not provided)', () => {
  it('node:fs, fs.promises and fs.constants', () => {
    expect(missing('', realFs, nr)).toEqual([]);
    expect(missing('promises', realFs.promises, nr.promises)).toEqual([]);
    expect(missing('constants', realFs.constants, nr.constants)).toEqual([]);
  });

  it('FileHandle, Dir, ReadStream, WriteStream, Stats, BigIntStats, StatFs, Dirent', async () => {
    realFs.writeFileSync(`${base}/f`, 'x');
    nr.mkdirSync(base, { recursive: true });
    nr.writeFileSync(`${base}/f`, 'x');
    const [theirHandle, ourHandle] = [await realFs.promises.open(`${base}/f`), await nr.promises.open(`${base}/f`)];
    const [theirDir, ourDir] = [realFs.opendirSync(base), nr.opendirSync(base)];
    const [theirRead, ourRead] = [realFs.createReadStream(`${base}/f`), nr.createReadStream(`${base}/f`)];
    const [theirWrite, ourWrite] = [realFs.createWriteStream(`${base}/w`), nr.createWriteStream(`${base}/w`)];
    try {
      expect(missing('FileHandle', theirHandle, ourHandle)).toEqual([]);
      expect(missing('Dir', theirDir, ourDir)).toEqual([]);
      expect(missing('ReadStream', theirRead, ourRead)).toEqual([]);
      expect(missing('WriteStream', theirWrite, ourWrite)).toEqual([]);
      expect(missing('Stats', realFs.statSync(base), nr.statSync(base))).toEqual([]);
      expect(missing('BigIntStats', realFs.statSync(base, { bigint: true }), nr.statSync(base, { bigint: true }))).toEqual([]);
      expect(missing('StatFs', realFs.statfsSync(base), nr.statfsSync(base))).toEqual([]);
      expect(missing('Dirent', realFs.readdirSync(base, { withFileTypes: true })[0]!, nr.readdirSync(base, { withFileTypes: true })[0]!)).toEqual([]);
    } finally {
      await Promise.all([theirHandle.close(), ourHandle.close()]);
      theirDir.closeSync();
      ourDir.closeSync();
      for (const s of [theirRead, ourRead, theirWrite, ourWrite]) s.destroy();
    }
  });

  it("Stats, BigIntStats and Dirent have node's own enumerable fields (what JSON.stringify, spread and Object.keys see)", async () => {
    realFs.writeFileSync(`${base}/o`, 'x');
    nr.mkdirSync(base, { recursive: true });
    nr.writeFileSync(`${base}/o`, 'x');
    const keys = (o: object): string[] => Object.keys(o).sort();
    expect(keys(nr.statSync(`${base}/o`))).toEqual(keys(realFs.statSync(`${base}/o`)));
    expect(keys(nr.lstatSync(`${base}/o`, { bigint: true }))).toEqual(keys(realFs.lstatSync(`${base}/o`, { bigint: true })));
    expect(keys(await nr.promises.stat(`${base}/o`))).toEqual(keys(await realFs.promises.stat(`${base}/o`)));
    const fds = [realFs.openSync(`${base}/o`, 'r'), nr.openSync(`${base}/o`, 'r')] as const;
    expect(keys(nr.fstatSync(fds[1]))).toEqual(keys(realFs.fstatSync(fds[0])));
    realFs.closeSync(fds[0]);
    nr.closeSync(fds[1]);
    expect(Object.keys(JSON.parse(JSON.stringify(nr.statSync(`${base}/o`)))).sort()).toEqual(Object.keys(JSON.parse(JSON.stringify(realFs.statSync(`${base}/o`)))).sort());
    expect(nr.statSync(`${base}/o`).mtime).toBeInstanceOf(Date);
    expect(keys(nr.readdirSync(base, { withFileTypes: true })[0]!)).toEqual(keys(realFs.readdirSync(base, { withFileTypes: true })[0]!));
  });

  it('every name listed as not provided is in docs/fs.md, and node still has it', () => {
    const doc = readFileSync(new URL('../docs/fs.md', import.meta.url), 'utf8');
    for (const name of Object.keys(NOT_PROVIDED)) expect(doc).toContain(`\`${name}\``);
    const holders: Record<string, object> = {
      Dir: realFs.Dir.prototype,
      Stats: realFs.Stats.prototype,
      BigIntStats: Object.getPrototypeOf(realFs.statSync('/', { bigint: true })) as object,
    };
    for (const name of Object.keys(NOT_PROVIDED)) {
      const [cls, member] = name.split('.') as [string, string];
      expect(namesOf(holders[cls]!)).toContain(member);
    }
  });
});
