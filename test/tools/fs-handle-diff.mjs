// A differential fuzz of the facade's FileHandle methods against node:fs on /dev/shm: random
// methods with random arguments on a handle of each open flag; outcome = resolved value (shape,
// prototype, bytes) or rejection (code, class), plus the file's bytes afterwards. Not in the suite.
//   npm run build && node test/tools/fs-handle-diff.mjs [seed] [calls]
import realFs from 'node:fs';
import path from 'node:path';
import { createFs, attachFs, nodeFs } from '../../dist/src/fs/index.js';
const base = realFs.mkdtempSync(path.join('/dev/shm', 'fhdiff-'));
process.chdir(base);
const nr = nodeFs(attachFs(createFs({ capacityBytes: 1 << 24 })));
nr.mkdirSync(base, { recursive: true }); nr.chdir(base);
process.on('uncaughtException', (e) => { console.log('UNCAUGHT', e); });
const setup = (fs) => { for (const e of fs.readdirSync(base)) fs.rmSync(path.join(base, e), { recursive: true, force: true }); fs.writeFileSync('f', 'hello world, this is a file\nline2\nline3'); fs.mkdirSync('d'); fs.writeFileSync('d/x', 'xx'); fs.writeFileSync('d/y', 'yy'); fs.mkdirSync('d/z'); };
const VALS = () => [undefined, null, 0, 1, 3, -1, 1.5, 2 ** 31, 2 ** 53, NaN, 10n, -1n, 'abc', '', 'utf8', 'hex', 'bogus', Buffer.from('XYZ'), new Uint8Array(4), Buffer.alloc(0), {}, { encoding: 'utf8' }, { encoding: 'bogus' }, { position: 2 }, { position: -1 }, { offset: 1, length: 2 }, { length: 100 }, { buffer: Buffer.alloc(5) }, { flag: 'a' }, { signal: 1 }, [Buffer.from('ab'), Buffer.from('cd')], [], ['x'], true, () => {}, { start: 2, end: 5 }, { mode: 0o600 }];
const summarize = (r) => {
  if (r === undefined || r === null || typeof r === 'boolean') return String(r);
  if (typeof r === 'number' || typeof r === 'bigint') return String(r);
  if (typeof r === 'string') return 's:' + r;
  if (Buffer.isBuffer(r) || r instanceof Uint8Array) { const b = Buffer.from(r); let h = 0; for (const x of b) h = (h * 31 + x) >>> 0; return `buf${b.length}:${b.subarray(0, 8).toString('hex')}:${h.toString(16)}`; }
  if (Array.isArray(r)) return 'arr:' + r.map(summarize).join(',');
  if (typeof r === 'object') {
    const o = {};
    for (const k of ['bytesRead', 'bytesWritten', 'buffer', 'buffers', 'size', 'name']) if (k in r) o[k] = summarize(r[k]);
    return r.constructor?.name + JSON.stringify(o);
  }
  return typeof r;
};
const kind = (e) => e instanceof RangeError ? 'RangeError' : e instanceof TypeError ? 'TypeError' : e instanceof Error ? 'Error' : typeof e;
const withTimeout = (p) => Promise.race([p, new Promise((r) => setTimeout(() => r({ via: 'timeout' }), 500))]);
const METHODS = ['read', 'write', 'readFile', 'writeFile', 'appendFile', 'truncate', 'stat', 'chmod', 'utimes', 'sync', 'datasync', 'readv', 'writev', 'readLines', 'close'];
let seed = Number(process.argv[2] ?? 1);
const rnd = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
const N = Number(process.argv[3] ?? 1000);
const groups = new Map();
const content = (fs) => { try { return fs.readFileSync('f').toString('hex'); } catch (e) { return e.code; } };
async function one(fs, m, args, flag) {
  setup(fs);
  const fh = await fs.promises.open('f', flag);
  let out;
  try {
    if (m === 'readLines') {
      const lines = [];
      for await (const l of fh.readLines(...args)) lines.push(l);
      out = { via: 'resolve', v: summarize(lines) };
    } else {
      out = await withTimeout(Promise.resolve().then(() => fh[m](...args)).then((v) => ({ via: 'resolve', v: summarize(v) }), (e) => ({ via: 'reject', code: e?.code, kind: kind(e) })));
    }
  } catch (e) { out = { via: 'throw', code: e?.code, kind: kind(e) }; }
  try { await fh.close(); } catch {}
  out.file = content(fs);
  return out;
}
const FLAGS = ['r', 'r+', 'a', 'w', 'a+'];
for (let i = 0; i < N; i++) {
  const m = METHODS[rnd(METHODS.length)];
  const flag = FLAGS[rnd(FLAGS.length)];
  const picks = Array.from({ length: rnd(4) }, () => rnd(VALS().length));
  const outs = [];
  for (const fs of [realFs, nr]) outs.push(await one(fs, m, picks.map((k) => VALS()[k]), flag));
  if (outs[0].code === 'ERR_INTERNAL_ASSERTION') continue;
  if (JSON.stringify(outs[0]) !== JSON.stringify(outs[1])) {
    const g = m + ' ' + flag + ' | ' + JSON.stringify(outs[0]) + ' | ' + JSON.stringify(outs[1]);
    if (!groups.has(g)) groups.set(g, [0, picks.map((k) => { const v = VALS()[k]; return typeof v === 'bigint' ? v + 'n' : Buffer.isBuffer(v) ? `Buffer(${v.toString('hex')})` : typeof v === 'function' ? 'fn' : JSON.stringify(v) ?? String(v); }).join(', ')]);
    groups.get(g)[0]++;
  }
}
for (const [g, [n, ex]] of groups) console.log(n, g, '\n     e.g.', ex);
console.log('groups', groups.size);
realFs.rmSync(base, { recursive: true, force: true });
process.exit(0);
