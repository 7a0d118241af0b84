/**
 * CPU µs per op of the KV store's paths, for one or more builds interleaved
 * in one process (median of 5 rounds): `put` on the issuer (seal, encode,
 * own apply), `replay` on a second replica (decode and apply of the same
 * records), `get` (verify and open), encrypted and plaintext, 100 B values,
 * 1000 keys.
 *
 *   node dist/bench/kv-cost.js [label=path/to/kv/index.js ...]
 *
 * Without arguments it measures this build. To compare with an earlier
 * commit: build it elsewhere (git archive <commit> src tsconfig.json
 * package.json | tar -x -C /tmp/base; link node_modules; npx tsc -p
 * /tmp/base) and pass before=/tmp/base/dist/src/kv/index.js
 * after=dist/src/kv/index.js.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface KvModule {
  createKv(o: object): unknown;
  attachKv(h: unknown, o: object): { put(k: string, v: Uint8Array): number; get(k: string): Buffer | undefined; sync(): void; detach(): void };
}

const N = 20_000;
const KEYS = 1000;
const KEY = new Uint8Array(32).fill(5);
const value = Buffer.alloc(100, 0x61);

function cpuUs(f: () => void): number {
  const c0 = process.cpuUsage();
  f();
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / N;
}

function measure(kv: KvModule, encrypt: boolean): { put: number; replay: number; get: number } {
  const h = kv.createKv({ encrypt, key: encrypt ? KEY : undefined, arenaBytes: 64 << 20, log: { replicas: 2, logBytes: 4 << 20 } });
  const secret = encrypt ? { key: KEY } : {};
  const a = kv.attachKv(h, secret);
  const b = kv.attachKv(h, secret);
  for (let k = 0; k < KEYS; k++) a.put(`user${k}`, value);
  b.sync();
  const put = cpuUs(() => {
    for (let i = 0; i < N; i++) a.put(`user${i % KEYS}`, value);
  });
  const replay = cpuUs(() => b.sync());
  let sink = 0;
  const get = cpuUs(() => {
    for (let i = 0; i < N; i++) sink += a.get(`user${i % KEYS}`)!.length;
  });
  if (sink < 0) console.log(sink);
  a.detach();
  b.detach();
  return { put, replay, get };
}

const specs = process.argv.slice(2).length > 0 ? process.argv.slice(2) : [`this=${path.resolve(path.dirname(new URL(import.meta.url).pathname), '../src/kv/index.js')}`];
const builds: [string, KvModule][] = [];
for (const spec of specs) {
  const [label, file] = spec.includes('=') ? (spec.split('=', 2) as [string, string]) : [spec, spec];
  builds.push([label, (await import(pathToFileURL(path.resolve(file)).href)) as KvModule]);
}
const results = new Map<string, { put: number; replay: number; get: number }[]>();
for (let round = 0; round < 5; round++) {
  for (const [label, kv] of builds) {
    for (const encrypt of [true, false]) {
      const k = `${label} ${encrypt ? 'encrypted' : 'plaintext'}`;
      if (!results.has(k)) results.set(k, []);
      results.get(k)!.push(measure(kv, encrypt));
    }
  }
}
const median = (xs: number[]): number => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
console.log('| build | put µs | replay µs | get µs |\n|---|---:|---:|---:|');
for (const [k, rs] of results) {
  console.log(`| ${k} | ${median(rs.map((r) => r.put)).toFixed(2)} | ${median(rs.map((r) => r.replay)).toFixed(2)} | ${median(rs.map((r) => r.get)).toFixed(2)} |`);
}
