// A differential fuzz of createReadStream / createWriteStream against node:fs on /dev/shm: random
// options (start, end, highWaterMark, encoding, flags, autoClose, emitClose) and paths; outcome = the
// event sequence, the bytes read or the file written. Not in the suite.
//   npm run build && node test/tools/fs-stream-diff.mjs [seed] [runs]
import realFs from 'node:fs';
import path from 'node:path';
import { createFs, attachFs, nodeFs } from '../../dist/src/fs/index.js';
const base = realFs.mkdtempSync(path.join('/dev/shm', 'sdiff-'));
const nr = nodeFs(attachFs(createFs({ capacityBytes: 1 << 24 })));
nr.mkdirSync(base, { recursive: true });
const DATA = Buffer.from(Array.from({ length: 70000 }, (_, i) => 97 + (i % 26)));
const setup = (fs) => { for (const e of fs.readdirSync(base)) fs.rmSync(path.join(base, e), { recursive: true, force: true }); fs.writeFileSync(path.join(base, 'f'), DATA); fs.mkdirSync(path.join(base, 'd')); };
const kind = (e) => e instanceof RangeError ? 'RangeError' : e instanceof TypeError ? 'TypeError' : e instanceof Error ? 'Error' : typeof e;
const OPTVALS = { start: [undefined, 0, 5, 69999, 70000, 80000, -1, 1.5, NaN, '3', 2 ** 53], end: [undefined, 0, 10, 69999, 100000, -1, Infinity, 4.5, 'x'], highWaterMark: [undefined, 1, 7, 1024, 65536, 0, -1, 'x'], encoding: [undefined, 'utf8', 'hex', 'base64', 'latin1', 'bogus', null], flags: [undefined, 'r', 'r+', 'w', 'a', 'wx', 'bogus'], autoClose: [undefined, true, false], emitClose: [undefined, true, false] };
const PATHS = ['f', 'd', 'nope', 'f/x', ''];
let seed = Number(process.argv[2] ?? 1);
const rnd = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
function readRun(fs, p, opts) {
  return new Promise((resolve) => {
    const ev = []; let data = []; let s;
    const t = setTimeout(() => { resolve({ ev: ev.join(' '), timeout: true }); try { s?.destroy(); } catch {} }, 1500);
    try { s = fs.createReadStream(path.join(base, p), opts); } catch (e) { clearTimeout(t); return resolve({ threw: e.code ?? kind(e) }); }
    s.on('open', () => ev.push('open'));
    s.on('ready', () => ev.push('ready'));
    s.on('data', (c) => { data.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c); if (ev.at(-1) !== 'data') ev.push('data'); });
    s.on('end', () => ev.push('end'));
    s.on('error', (e) => ev.push('error:' + (e.code ?? kind(e))));
    s.on('close', () => { ev.push('close'); clearTimeout(t); setTimeout(() => resolve({ ev: ev.join(' '), chunks: data.length, bytes: Buffer.concat(data).length, h: Buffer.concat(data).subarray(0, 12).toString('hex'), bytesRead: s.bytesRead }), 5); });
    setTimeout(() => { if (!ev.includes('close') && (ev.includes('end') || ev.some((x) => x.startsWith('error')))) { clearTimeout(t); resolve({ ev: ev.join(' ') + ' (no close)', chunks: data.length, bytes: Buffer.concat(data).length, bytesRead: s.bytesRead }); } }, 300);
  });
}
function writeRun(fs, p, opts, chunks) {
  return new Promise((resolve) => {
    const ev = []; let s;
    const t = setTimeout(() => resolve({ ev: ev.join(' '), timeout: true }), 1500);
    try { s = fs.createWriteStream(path.join(base, p), opts); } catch (e) { clearTimeout(t); return resolve({ threw: e.code ?? kind(e) }); }
    s.on('open', () => ev.push('open')); s.on('ready', () => ev.push('ready')); s.on('finish', () => ev.push('finish'));
    s.on('error', (e) => ev.push('error:' + (e.code ?? kind(e))));
    const done = () => { clearTimeout(t); let c; try { c = fs.readFileSync(path.join(base, p)); c = c.length + ':' + c.subarray(0, 8).toString('hex') + ':' + c.subarray(-8).toString('hex'); } catch (e) { c = e.code; } resolve({ ev: ev.join(' '), file: c, bytesWritten: s.bytesWritten }); };
    s.on('close', () => { ev.push('close'); setTimeout(done, 5); });
    for (const c of chunks) { try { s.write(c); } catch (e) { ev.push('writethrew:' + (e.code ?? kind(e))); } }
    try { s.end(); } catch (e) { ev.push('endthrew:' + (e.code ?? kind(e))); }
    setTimeout(() => { if (!ev.includes('close') && (ev.includes('finish') || ev.some((x) => x.startsWith('error')))) done(); }, 300);
  });
}
const groups = new Map();
const N = Number(process.argv[3] ?? 300);
for (let i = 0; i < N; i++) {
  const write = rnd(2) === 1;
  const p = PATHS[rnd(PATHS.length)];
  const opts = {};
  for (const [k, vs] of Object.entries(OPTVALS)) if (rnd(3) === 0) opts[k] = vs[rnd(vs.length)];
  if (write) { delete opts.end; delete opts.highWaterMark; }
  const chunks = [Buffer.from('hello'), 'wörld', Buffer.alloc(3000, 1)].slice(0, rnd(4));
  const outs = [];
  for (const fs of [realFs, nr]) { setup(fs); outs.push(write ? await writeRun(fs, p, opts, chunks) : await readRun(fs, p, opts)); }
  if (JSON.stringify(outs[0]) !== JSON.stringify(outs[1])) {
    const g = (write ? 'W ' : 'R ') + JSON.stringify(outs[0]) + ' | ' + JSON.stringify(outs[1]);
    if (!groups.has(g)) groups.set(g, [0, p + ' ' + JSON.stringify(opts, (k, v) => v === undefined ? 'undef' : Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Inf' : v) + ' chunks=' + chunks.length]);
    groups.get(g)[0]++;
  }
}
for (const [g, [n, ex]] of groups) console.log(n, g, '\n     e.g.', ex);
console.log('groups', groups.size);
realFs.rmSync(base, { recursive: true, force: true });
process.exit(0);
