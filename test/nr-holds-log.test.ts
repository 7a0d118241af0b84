/**
 * Replica.holdsLog(): true exactly while the replica's slot holds back the
 * log's head, so memory reclaimed by log marks cannot be reused under its
 * state (NrFS re-checks it after every copy out of shared pages).
 */
import { describe, expect, it } from 'vitest';
import { attach, createHandle } from '../src/nr/index.js';
import { HashMap } from '../src/nr/structures/index.js';
import { setSlotState } from './support/kv-log.js';
import { SLOT_STATE } from './support/log-peek.js';

describe('Replica.holdsLog', () => {
  it('is true while active, false once fenced or detached', () => {
    const h = createHandle(HashMap, { replicas: 2 });
    const a = attach(h, HashMap);
    const b = attach(h, HashMap);
    a.writes.put('k', 'v');
    expect(a.holdsLog()).toBe(true);
    expect(b.holdsLog()).toBe(true);
    setSlotState({ nr: h } as never, b.id, SLOT_STATE.Fenced);
    expect(b.holdsLog()).toBe(false);
    expect(b.status()).toBe('fenced');
    expect(a.holdsLog()).toBe(true);
    a.detach();
    expect(a.holdsLog()).toBe(false);
  });
});
