// A differential fuzz of the node:fs facade's callback or promise forms
// against node:fs (docs/fs.md, "Conformance with node:fs"): random calls
// with random arguments on the same tree in /dev/shm, outcome = thrown at
// the call / given to the callback or rejected (code, class) / value. Not in
// the suite: node's own callback forms throw uncaught exceptions for some
// arguments.
//   npm run build && node test/tools/fs-forms-diff.mjs callback|promises [seed] [calls]
import realFs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createFs, attachFs, nodeFs } from '../../dist/src/fs/index.js';
const FORM = process.argv[2] ?? 'callback';
if (FORM !== 'callback' && FORM !== 'promises') throw new Error('form: callback or promises');
const base = realFs.mkdtempSync(path.join('/dev/shm', 'cbdiff-'));
process.chdir(base);
const nr = nodeFs(attachFs(createFs({ capacityBytes: 1 << 24 })));
nr.mkdirSync(base, { recursive: true }); nr.chdir(base);
let uncaught = null;
process.on('uncaughtException', (e) => { uncaught = e; });
const setup = (fs) => { for (const e of fs.readdirSync(base)) fs.rmSync(path.join(base, e), { recursive: true, force: true }); fs.writeFileSync('f', 'hello'); fs.mkdirSync('d'); fs.writeFileSync('d/x', 'xx'); fs.symlinkSync('f', 'l'); fs.mkdirSync('e'); };
const FD = Symbol('FD');
const VALS = () => ['f', 'd', 'nope', 'd/x', 'f/x', 'l', 'e', 'new', '', 'bad\0x', -1, 1.5, 99999, 2 ** 31, NaN, null, undefined, {}, [], true, Buffer.from('f'), 'r', 'w', 'wx', 'a+', 0o644, 0o777, 'utf8', 'bogus', { encoding: 'bogus' }, { flag: 'q' }, { recursive: true }, { withFileTypes: true }, { encoding: 'buffer' }, { mode: 'x' }, { flag: 'wx' }, new Uint8Array(3), Buffer.from('abc'), 'hex', { bigint: true }, { throwIfNoEntry: false }, { force: true }, { start: -1 }, 10n, FD, FD, { position: 2 }, [Buffer.alloc(2)], 2, 5, -0.5, 7.5];
const summarize = (r) => { if (r === undefined || r === null || typeof r === 'boolean') return String(r); if (typeof r === 'number') return Number.isInteger(r) ? 'int' : String(r); if (typeof r === 'string') return 's:' + (r.startsWith(base) ? r.slice(base.length) || '/' : r); if (Buffer.isBuffer(r)) return 'buf:' + r.toString('hex'); if (Array.isArray(r)) return 'arr:' + r.map((x) => typeof x === 'string' ? x : Buffer.isBuffer(x) ? 'B' : x?.name ?? typeof x).sort().join(','); return 'obj:' + r?.constructor?.name; };
const kind = (e) => e instanceof RangeError ? 'RangeError' : e instanceof TypeError ? 'TypeError' : e instanceof Error ? 'Error' : typeof e;
function run(fs, name, args) {
  return new Promise((resolve) => {
    uncaught = null;
    const t = setTimeout(() => resolve(uncaught ? { via: 'uncaught', code: uncaught.code, kind: kind(uncaught) } : { via: 'no callback' }), 50);
    const done = (o) => { clearTimeout(t); resolve(o); };
    try {
      if (FORM === 'callback') fs[name](...args, (err, v) => done(err ? { via: 'cb', code: err.code, kind: kind(err) } : { via: 'cb', v: summarize(v) }));
      else {
        Promise.resolve(fs.promises[name](...args)).then((v) => {
          const handle = v !== null && typeof v === 'object' && v.constructor?.name === 'FileHandle';
          if (handle) v.close().catch(() => {});
          done({ via: 'resolve', v: handle ? 'FileHandle' : summarize(v) });
        }, (err) => done({ via: 'reject', code: err?.code, kind: kind(err) }));
      }
    } catch (e) { done({ via: 'throw', code: e.code, kind: kind(e) }); }
  });
}
const skip = new Set(['watch', 'watchFile', 'unwatchFile', 'createReadStream', 'createWriteStream', 'opendir', 'chown', 'lchown', 'fchown', 'statfs', 'mkdtemp', 'glob', 'cp', 'lchmod', 'exists', 'openAsBlob', 'Dir', 'Dirent', 'Stats', 'ReadStream', 'WriteStream', 'FileReadStream', 'FileWriteStream', '_toUnixTimestamp']);
const api = (fs) => (FORM === 'callback' ? fs : fs.promises);
const names = Object.keys(api(realFs)).filter((n) => !n.endsWith('Sync') && typeof api(realFs)[n] === 'function' && typeof api(nr)[n] === 'function' && !skip.has(n) && /^[a-z]/.test(n));
console.log(names.join(' '));
let seed = Number(process.argv[3] ?? 1);
const rnd = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
const groups = new Map();
const N = Number(process.argv[4] ?? 2000);
for (let i = 0; i < N; i++) {
  const name = names[rnd(names.length)];
  const picks = Array.from({ length: rnd(3) + 1 }, () => rnd(VALS().length));
  const v0 = VALS()[picks[0]];
  if (typeof v0 === 'number' && Number.isInteger(v0) && v0 >= -1 && v0 < 1000) continue;
  if (picks.slice(1).some((k) => VALS()[k] === FD || VALS()[k] === 2 ** 31)) continue;
  if (FORM === 'promises' && picks.some((k) => VALS()[k] === FD)) continue; // a descriptor is not a FileHandle
  const out = [];
  for (const fs of [realFs, nr]) {
    setup(fs); const fd = fs.openSync('f', 'r+');
    out.push(await run(fs, name, picks.map((k) => VALS()[k] === FD ? fd : VALS()[k])));
    try { fs.closeSync(fd); } catch {}
  }
  if (out[0].via === 'uncaught' || (name === 'readFile' && typeof v0 === 'number')) continue;
  if (JSON.stringify(out[0]) !== JSON.stringify(out[1])) {
    const g = name + ' | ' + JSON.stringify(out[0]) + ' | ' + JSON.stringify(out[1]);
    if (!groups.has(g)) groups.set(g, [0, picks.map((k) => { const v = VALS()[k]; return typeof v === 'symbol' ? 'FD' : typeof v === 'bigint' ? v + 'n' : Buffer.isBuffer(v) ? `Buffer(${v})` : JSON.stringify(v) ?? String(v); }).join(', ')]);
    groups.get(g)[0]++;
  }
}
for (const [g, [n, ex]] of groups) console.log(n, g, '\n     e.g.', ex);
console.log('groups', groups.size);
realFs.rmSync(base, { recursive: true, force: true });
process.exit(0);
