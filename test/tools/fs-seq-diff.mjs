// A differential fuzz of call sequences against node:fs on /dev/shm: random runs of 40 ops each (namespace ops over
// links and directories, rm/cp/copyFile with their options, fds held across steps: writes and reads at page edges,
// ftruncate, readFile/writeFile/appendFile on fds) on NrFS's facade and node:fs, comparing each outcome (value, or
// code, syscall and message) and the whole tree after each step (modes, link counts, sizes, blocks, content hashes).
// Found rmSync's recursive+force lstat rule (test/fs-rm-forms.test.ts). Not in the suite.
//   npm run build && [TIMES=1] node test/tools/fs-seq-diff.mjs [seed] [runs] [steps]   (TIMES=1: also whether each mtime and ctime moved, 12 ms between steps)
import * as real from 'node:fs';
import path from 'node:path';
import { attachFs, createFs, nodeFs } from '../../dist/src/fs/index.js';
const seed0 = Number(process.argv[2] ?? 1), RUNS = Number(process.argv[3] ?? 200), LEN = Number(process.argv[4] ?? 25);
let seed = seed0;
const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
const pick = (a) => a[Math.floor(rnd() * a.length)];
const base = real.mkdtempSync('/dev/shm/fz-');
const nrh = attachFs(createFs({ umask: process.umask(), capacityBytes: 1 << 24 }));
const nr = nodeFs(nrh);
nr.mkdirSync(base, { recursive: true }); nr.chmodSync(base, 0o700);
const N = ['a', 'b', 'c'];
const P = () => { let p = pick(N); const k = Math.floor(rnd() * 3); for (let i = 0; i < k; i++) p += '/' + pick([...N, ...N, '.', '..']); if (rnd() < 0.15) p += '/'; return p; };
const T = () => pick(['a', 'b', 'c', 'a/b', '../a', 'b/c', '.', 'missing', 'a/', '/nonexistent', 'c/..', 'b/../a']);
const ops = [
  (d) => { const p = P(); return ['mkdir ' + p, (f) => f.mkdirSync(d + '/' + p)]; },
  (d) => { const p = P().split('/').filter((x) => x !== '..').join('/'); return ['mkdir -p ' + p, (f) => f.mkdirSync(d + '/' + p, { recursive: true })]; },
  (d) => { const p = P(), s = pick(['', 'hello', 'x'.repeat(5000)]); return ['writeFile ' + p, (f) => f.writeFileSync(d + '/' + p, s)]; },
  (d) => { const p = P(); return ['appendFile ' + p, (f) => f.appendFileSync(d + '/' + p, 'ab')]; },
  (d) => { const p = P(), q = P(); return [`rename ${p} ${q}`, (f) => f.renameSync(d + '/' + p, d + '/' + q)]; },
  (d) => { const p = P(), q = P(); return [`link ${p} ${q}`, (f) => f.linkSync(d + '/' + p, d + '/' + q)]; },
  (d) => { const t = T(), p = P(); return [`symlink ${t} ${p}`, (f) => f.symlinkSync(t, d + '/' + p)]; },
  (d) => { const p = P(); return ['unlink ' + p, (f) => f.unlinkSync(d + '/' + p)]; },
  (d) => { const p = P(); return ['rmdir ' + p, (f) => f.rmdirSync(d + '/' + p)]; },
  (d) => { const p = P(), o = pick([{}, { recursive: true }, { force: true }, { recursive: true, force: true }]); return ['rm ' + p + JSON.stringify(o), (f) => f.rmSync(d + '/' + p, o)]; },
  (d) => { const p = P(); return ['stat ' + p, (f) => sum(f.statSync(d + '/' + p))]; },
  (d) => { const p = P(); return ['lstat ' + p, (f) => sum(f.lstatSync(d + '/' + p))]; },
  (d) => { const p = P(); return ['readlink ' + p, (f) => f.readlinkSync(d + '/' + p)]; },
  (d) => { const p = P(); return ['realpath ' + p, (f) => f.realpathSync(d + '/' + p).slice(d.length)]; },
  (d) => { const p = P(); return ['realpath.native ' + p, (f) => f.realpathSync.native(d + '/' + p).slice(d.length)]; },
  (d) => { const p = P(), o = pick([{}, { withFileTypes: true }, { recursive: true }, { recursive: true, withFileTypes: true }]); return ['readdir ' + p + JSON.stringify(o), (f) => f.readdirSync(d + '/' + p, o).map((e) => typeof e === 'string' ? e : `${e.name}:${e.isFile()}${e.isDirectory()}${e.isSymbolicLink()}:${e.parentPath.slice(d.length)}`).sort()]; },
  (d) => { const p = P(); return ['opendir ' + p, (f) => { if (p.includes('..')) return 0; const dir = f.opendirSync(d + '/' + p); const r = []; let e; while ((e = dir.readSync()) !== null) r.push(e.name + (e.isDirectory() ? '/' : '')); dir.closeSync(); return r.sort(); }]; },
  (d) => { const p = P(), l = pick([0, 3, 4095, 4096, 4097, 8191, 9000, 12289]); return [`truncate ${p} ${l}`, (f) => f.truncateSync(d + '/' + p, l)]; },
  (d) => { const p = P(), fl = pick(['r', 'r+', 'w', 'wx', 'a', 'ax', 'a+', 'w+', 'rs+', 'as', 'as+', 0o200000, 0o400000 | 2, 0o100 | 0o200 | 1]); return [`open ${p} ${fl}`, (f) => { const fd = f.openSync(d + '/' + p, fl); try { let r = ''; try { r += f.writeSync(fd, 'ZZ'); } catch (e) { r += e.code; } try { const b = Buffer.alloc(10); r += ':' + f.readSync(fd, b, 0, 10, 0) + b.toString('hex'); } catch (e) { r += ':' + e.code; } r += ':' + sum(f.fstatSync(fd)); return r; } finally { f.closeSync(fd); } }]; },
  (d) => { const p = P(), q = P(), m = pick([0, 1]); return [`copyFile ${p} ${q} ${m}`, (f) => f.copyFileSync(d + '/' + p, d + '/' + q, m)]; },
  (d) => { const p = P(), q = P(), o = pick([{ recursive: true }, {}, { recursive: true, dereference: true }, { recursive: true, force: false, errorOnExist: true }]); return [`cp ${p} ${q} ${JSON.stringify(o)}`, (f) => f.cpSync(d + '/' + p, d + '/' + q, o)]; },
  (d) => { const p = P(), m = pick([0o755, 0o600, 0o444, 0o1777, 0o4755]); return [`chmod ${p} ${m.toString(8)}`, (f) => f.chmodSync(d + '/' + p, m)]; },
  (d) => { const p = P(), m = pick([0, 1, 2, 4, 7]); return [`access ${p} ${m}`, (f) => f.accessSync(d + '/' + p, m)]; },
  (d) => { const p = P(); return ['exists ' + p, (f) => f.existsSync(d + '/' + p)]; },
  (d) => { const p = P(); return ['readFile ' + p, (f) => f.readFileSync(d + '/' + p).length]; },
  (d) => { const p = P(); return ['mkdtemp ' + p, (f) => { const t = f.mkdtempSync(d + '/' + p); f.rmdirSync(t); return t.length - d.length; }]; },
  (d) => { const p = P(); return ['utimes ' + p, (f) => f.utimesSync(d + '/' + p, 1000, 2000)]; },
  (d) => { const p = P(), fl = pick(['r', 'r+', 'w', 'a', 'a+', 'wx', 'w+']); return [`hold ${p} ${fl}`, (f) => { const fd = f.openSync(d + '/' + p, fl); held(f).push(fd); return held(f).length; }]; },
  (d) => { const k = Math.floor(rnd() * 3), s = pick(['Q', 'x'.repeat(4100), '', 'y'.repeat(8192), 'zz']), pos = pick([null, 0, 3, 4095, 4096, 5000, 8190, 12000, -1]); return [`hwrite ${k} ${s.length} ${pos}`, (f) => f.writeSync(fdAt(f, k), s, pos)]; },
  (d) => { const k = Math.floor(rnd() * 3), pos = pick([null, 0, 2, 4095, 9000]), len = pick([0, 5, 5000]); return [`hread ${k} ${pos} ${len}`, (f) => { const b = Buffer.alloc(len); const n = f.readSync(fdAt(f, k), b, 0, len, pos); return n + ':' + b.subarray(0, n).toString('hex').slice(0, 40); }]; },
  (d) => { const k = Math.floor(rnd() * 3); return [`hfstat ${k}`, (f) => sum(f.fstatSync(fdAt(f, k)))]; },
  (d) => { const k = Math.floor(rnd() * 3), l = pick([0, 1, 4097]); return [`hftruncate ${k} ${l}`, (f) => f.ftruncateSync(fdAt(f, k), l)]; },
  (d) => { const k = Math.floor(rnd() * 3); return [`hclose ${k}`, (f) => { const fd = fdAt(f, k); f.closeSync(fd); held(f).splice(held(f).indexOf(fd), 1); }]; },
  (d) => { const k = Math.floor(rnd() * 3); return [`hreadFile ${k}`, (f) => f.readFileSync(fdAt(f, k)).toString('hex').slice(0, 40)]; },
  (d) => { const k = Math.floor(rnd() * 3); return [`happendFile ${k}`, (f) => f.appendFileSync(fdAt(f, k), 'ap')]; },
  (d) => { const k = Math.floor(rnd() * 3); return [`hwriteFile ${k}`, (f) => f.writeFileSync(fdAt(f, k), 'wf')]; },
  (d) => { const k = Math.floor(rnd() * 3), m = pick([0o600, 0o755]); return [`hfchmod ${k}`, (f) => f.fchmodSync(fdAt(f, k), m)]; },
  (d) => { const p = P(); return ['lutimes ' + p, (f) => f.lutimesSync(d + '/' + p, 1000, 2000)]; },
];
const heldBy = new Map();
const timesOf = new Map();
function held(f) { if (!heldBy.has(f)) heldBy.set(f, []); return heldBy.get(f); }
function fdAt(f, k) { const h = held(f); if (h.length === 0) throw Object.assign(new Error('none held'), { code: 'NOFD' }); return h[k % h.length]; }
import { createHash } from 'node:crypto';
function await_hash(b) { return createHash('sha1').update(b).digest('hex').slice(0, 16); }
function sum(s) { return `${s.mode.toString(8)} nl${s.nlink} sz${s.size} bl${s.blocks}${s.mtimeMs === 2000000 ? ' m2000' : ''}`; }
function tree(f, d) {
  const out = [];
  const walk = (rel) => { for (const n of f.readdirSync(d + rel).sort()) { const p = rel + '/' + n; const s = f.lstatSync(d + p); out.push(p + ' ' + sum(s) + (s.isSymbolicLink() ? '->' + f.readlinkSync(d + p) : s.isFile() ? ':' + (await_hash(f.readFileSync(d + p))) : '')); if (s.isDirectory()) walk(p); } };
  walk('');
  if (process.env.TIMES) {
    const prev = timesOf.get(f) ?? new Map(); const now = new Map();
    const tw = (rel) => { for (const n of f.readdirSync(d + rel).sort()) { const p = rel + '/' + n; const s = f.lstatSync(d + p); now.set(p, [s.ino, s.mtimeMs, s.ctimeMs]); const o = prev.get(p); if (o && o[0] === s.ino) out.push(p + ' m' + (o[1] !== s.mtimeMs ? '*' : '=') + ' c' + (o[2] !== s.ctimeMs ? '*' : '=')); if (s.isDirectory()) tw(p); } };
    tw(''); timesOf.set(f, now);
    const t0 = Date.now(); while (Date.now() - t0 < 12);
  }
  return out;
}
const outcome = (fn, f) => { try { const v = fn(f); return 'ok ' + JSON.stringify(v); } catch (e) { return `${e.code} ${e.syscall ?? ''} ${e.message?.replaceAll(base, '').replace(/(mkdtemp '[^']*)(XXXXXX|[A-Za-z0-9]{6})'/, '$1??????\'')}`; } };
let bad = 0;
const seen = new Set();
for (let r = 0; r < RUNS; r++) {
  const dR = `${base}/r${r}`, dN = `${base}/n${r}`;
  real.mkdirSync(dR); nr.mkdirSync(dN);
  for (const f of [real, nr]) { for (const fd of held(f)) f.closeSync(fd); held(f).length = 0; timesOf.delete(f); }
  const hist = [];
  for (let k = 0; k < LEN; k++) {
    const s0 = seed; const [nameR, fnR] = pick(ops)(dR); seed = s0; const [, fnN] = pick(ops)(dN);
    const a = outcome(fnR, real).replaceAll('/r' + r, '/X'), b = outcome(fnN, nr).replaceAll('/n' + r, '/X');
    hist.push(nameR);
    if (a !== b) { const key = nameR.split(' ')[0] + '|' + a.split(' ')[0] + '|' + b.split(' ')[0]; if (!seen.has(key)) { seen.add(key); console.log(`run ${r} step ${k}: ${nameR}\n   node: ${a.slice(0, 200)}\n   nrfs: ${b.slice(0, 200)}\n   hist: ${hist.slice(-8).join('; ')}`); } bad++; break; }
    const tr = tree(real, dR).join('\n').replaceAll(dR, '/X'), tn = tree(nr, dN).join('\n').replaceAll(dN, '/X');
    if (tr !== tn) { const key = 'tree|' + nameR.split(' ')[0]; if (!seen.has(key)) { seen.add(key); console.log(`run ${r} step ${k}: TREE after ${nameR}\n node:\n${tr}\n nrfs:\n${tn}\n hist: ${hist.slice(-8).join('; ')}`); } bad++; break; }
  }
}
console.log('bad runs', bad, 'of', RUNS);
real.rmSync(base, { recursive: true, force: true });
