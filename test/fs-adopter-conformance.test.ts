/**
 * An adopter's suite, ahead of it: the scenarios of support/fs-adopter-cases.ts
 * (argument forms, encodings and error fields the ported conformance cases
 * do not reach) in the sync, callback and promises forms, against node:fs
 * on tmpfs and NrFS's facade. Every outcome must be node's: no known
 * differences here.
 */
import * as realFs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { attachFs, createFs, nodeFs } from '../src/fs/index.js';
import { adopterCases } from './support/fs-adopter-cases.js';
import { type Form, type FsLike, runScenario } from './support/fs-forms.js';

const shm = realFs.existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const base = mkdtempSync(path.join(shm, 'nrfs-adopter-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const nr = nodeFs(attachFs(createFs({ capacityBytes: 16 << 20, maxReplicas: 1 })));
nr.mkdirSync(base, { recursive: true });
let n = 0;

describe('adopter cases: NrFS gives node:fs outcomes', () => {
  for (const [name, c] of Object.entries(adopterCases)) {
    for (const form of c.forms ?? (['sync', 'callback', 'promises'] as Form[])) {
      it(`${name} (${form})`, async () => {
        const dir = path.join(base, `${n++}-${form}`);
        realFs.mkdirSync(dir);
        nr.mkdirSync(dir);
        const ref = await runScenario(realFs as unknown as FsLike, form, dir, dir, c.run);
        const got = await runScenario(nr as unknown as FsLike, form, dir, dir, c.run);
        const diffs = [...ref].filter(([label, o]) => JSON.stringify(got.get(label)) !== JSON.stringify(o)).map(([label, o]) => ({ label, node: o, nrfs: got.get(label) }));
        expect(diffs).toEqual([]);
        expect(got.size).toBe(ref.size);
      });
    }
  }
});
