/**
 * The shape of src/nr, checked on every run: no import cycles, imports
 * only point down the layers (log/ → replica/ → clients/ → root), nothing
 * outside log/ touches a raw log word, and the structures built on NR use
 * only its public API.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const NR = join(ROOT, 'src/nr');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Relative imports of a file, resolved to .ts paths. */
function importsOf(file: string): { target: string; names: string }[] {
  const src = readFileSync(file, 'utf8');
  const out: { target: string; names: string }[] = [];
  for (const m of src.matchAll(/(?:import|export)\s+(?:type\s+)?([^'";]*?)\s*from\s+'(\.[^']+)'/g)) {
    out.push({ target: resolve(dirname(file), m[2]!.replace(/\.js$/, '.ts')), names: m[1]! });
  }
  return out;
}

/** Layer of a file under src/nr: 0 log/, 1 replica/, 2 clients/, 3 the root; leaves (no imports of their own layer's peers) anywhere. */
const LEAVES = new Set(['errors.ts', 'defaults.ts', 'shared-memory.ts', 'codec.ts', 'structure.ts', 'options.ts']);
function layer(file: string): number {
  const rel = relative(NR, file);
  if (rel.startsWith('log/')) return 0;
  if (rel.startsWith('replica/')) return 1;
  if (rel.startsWith('clients/')) return 2;
  if (rel.startsWith('structures/')) return 4;
  return LEAVES.has(rel) ? -1 : 3;
}

describe('src/nr layering', () => {
  const all = files(NR);

  it('has no import cycles', () => {
    const graph = new Map(all.map((f) => [f, importsOf(f).map((i) => i.target)]));
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(NR, p)).join(' → '));
        return;
      }
      state.set(f, 'open');
      for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of all) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('imports only point down a layer (leaf modules import no layered module)', () => {
    const bad: string[] = [];
    for (const f of all) {
      for (const { target } of importsOf(f)) {
        if (!target.startsWith(NR)) continue;
        const from = layer(f);
        const to = layer(target);
        const ok = from === -1 ? to === -1 : to === -1 || to <= from;
        if (!ok) bad.push(`${relative(NR, f)} → ${relative(NR, target)}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('nothing outside log/ reads or writes a raw log word', () => {
    const rawWords = /\b(HEAD|TAIL|CTAIL|CTAIL_BYTES|HEAD_WAITERS|SEAL_WAITERS|TRANSFER|SLOTS_AT|S_[A-Z_]+|H_[A-Z_]+)\b/;
    const bad: string[] = [];
    for (const f of all.filter((f) => layer(f) !== 0)) {
      for (const { target, names } of importsOf(f)) {
        if (target.startsWith(join(NR, 'log/')) && rawWords.test(names)) bad.push(`${relative(NR, f)} imports ${names.trim()}`);
      }
      if (/\bstateIndex\(|\bltailIndex\(|\.words\b.*\b(HEAD|TAIL|CTAIL)\b/.test(readFileSync(f, 'utf8'))) bad.push(`${relative(NR, f)} indexes log words`);
    }
    expect(bad).toEqual([]);
  });

  it('kv, fs and sched use only the public API of src/nr', () => {
    const bad: string[] = [];
    for (const mod of ['kv', 'fs', 'sched', 'cluster']) {
      let list: string[] = [];
      try {
        list = files(join(ROOT, 'src', mod));
      } catch {
        continue;
      }
      for (const f of list) {
        for (const { target } of importsOf(f)) {
          if (target.startsWith(NR) && target !== join(NR, 'index.ts') && !target.startsWith(join(NR, 'structures/'))) {
            bad.push(`${relative(ROOT, f)} → ${relative(ROOT, target)}`);
          }
        }
      }
    }
    expect(bad).toEqual([]);
  });
});
