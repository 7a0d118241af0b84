// A differential fuzz of cpSync against node:fs on /dev/shm: random sources and destinations (files,
// directories, links, dangling links, a link to a directory) and random options; outcome = thrown
// code and class plus the whole tree afterwards. Not in the suite. Known: a copy that fails midway
// (a dangling link with dereference) leaves a different partial copy: node's cp walks a directory
// through opendir, in tmpfs's order (newest first), and NrFS's Dir is sorted.
//   npm run build && node test/tools/fs-cp-diff.mjs [seed] [calls]
import realFs from 'node:fs';
import path from 'node:path';
import { createFs, attachFs, nodeFs } from '../../dist/src/fs/index.js';
const base = realFs.mkdtempSync(path.join('/dev/shm', 'cpdiff-'));
const nr = nodeFs(attachFs(createFs({ capacityBytes: 1 << 24 })));
nr.mkdirSync(base, { recursive: true });
const P = (p) => path.join(base, p);
const setup = (fs) => { for (const e of fs.readdirSync(base)) fs.rmSync(P(e), { recursive: true, force: true });
  fs.mkdirSync(P('src/sub'), { recursive: true }); fs.writeFileSync(P('src/a'), 'A'); fs.writeFileSync(P('src/sub/b'), 'B'); fs.symlinkSync('a', P('src/la')); fs.symlinkSync('../src/sub', P('src/ld')); fs.symlinkSync('nowhere', P('src/lx'));
  fs.mkdirSync(P('dst')); fs.writeFileSync(P('dst/a'), 'old'); fs.writeFileSync(P('file'), 'F'); fs.symlinkSync('src', P('lsrc')); };
const tree = (fs, dir) => { const out = []; const walk = (d, rel) => { let es; try { es = fs.readdirSync(d, { withFileTypes: true }); } catch (e) { out.push(rel + ':' + e.code); return; } for (const e of es.sort((x, y) => x.name < y.name ? -1 : 1)) { const p = path.join(d, e.name), r = rel + '/' + e.name; if (e.isSymbolicLink()) out.push(r + '->' + fs.readlinkSync(p)); else if (e.isDirectory()) { out.push(r + '/'); walk(p, r); } else out.push(r + '=' + fs.readFileSync(p, 'latin1') + ':' + (fs.statSync(p).mode & 0o777).toString(8)); } }; walk(dir, ''); return out.join(' '); };
const kind = (e) => e instanceof RangeError ? 'RangeError' : e instanceof TypeError ? 'TypeError' : e instanceof Error ? 'Error' : typeof e;
const SRC = ['src', 'src/a', 'src/la', 'src/ld', 'src/lx', 'lsrc', 'nope', 'file', 'src/sub'];
const DST = ['dst', 'dst/a', 'new', 'new/deep', 'src/sub/in', 'file', 'src', 'dst/sub'];
const OPTS = { recursive: [true, false, undefined, 1], force: [true, false, undefined], errorOnExist: [true, false], dereference: [true, false], verbatimSymlinks: [true, false], preserveTimestamps: [true, false], filter: [undefined, (s) => !s.endsWith('b'), 5], mode: [0, 1, 99] };
let seed = Number(process.argv[2] ?? 1);
const rnd = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
const groups = new Map();
const N = Number(process.argv[3] ?? 500);
for (let i = 0; i < N; i++) {
  const s = SRC[rnd(SRC.length)], d = DST[rnd(DST.length)];
  const o = {}; for (const [k, vs] of Object.entries(OPTS)) if (rnd(3) === 0) o[k] = vs[rnd(vs.length)];
  const outs = [];
  for (const fs of [realFs, nr]) {
    setup(fs);
    let r; try { fs.cpSync(P(s), P(d), o); r = 'ok'; } catch (e) { r = (e.code ?? '') + ' ' + kind(e); }
    outs.push(r + ' | ' + tree(fs, base));
  }
  if (outs[0] !== outs[1]) { const g = outs[0] + '\n   NR: ' + outs[1]; if (!groups.has(g)) groups.set(g, [0, s + ' -> ' + d + ' ' + JSON.stringify(o, (k, v) => typeof v === 'function' ? 'fn' : v)]); groups.get(g)[0]++; }
}
for (const [g, [n, ex]] of groups) console.log(n, g.replaceAll(base, ''), '\n     e.g.', ex);
console.log('groups', groups.size);
realFs.rmSync(base, { recursive: true, force: true });
process.exit(0);
