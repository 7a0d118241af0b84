/**
 * Waiting tasks with a deadline, by (deadline, id): a binary min-heap in
 * which each task keeps its own index (`deadlinePos`, -1 when not in the
 * heap), so a task that starts or settles leaves it in O(log n) and the
 * next deadline to fire is at the root. Deterministic: only replicated
 * fields are compared. Plain data (an array of task records), so a state
 * snapshot (v8) carries it as is.
 */

/** The fields of a task the heap reads and writes. */
export interface Deadlined {
  id: number;
  /** Absolute time; -1: none (such a task is never added). */
  deadline: number;
  /** Index in the heap, or -1. */
  deadlinePos: number;
}

const less = (a: Deadlined, b: Deadlined): boolean => (a.deadline !== b.deadline ? a.deadline < b.deadline : a.id < b.id);

function swap<T extends Deadlined>(h: T[], i: number, j: number): void {
  const a = h[i]!;
  const b = h[j]!;
  h[i] = b;
  h[j] = a;
  b.deadlinePos = i;
  a.deadlinePos = j;
}

function sift<T extends Deadlined>(h: T[], i: number): void {
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!less(h[i]!, h[p]!)) break;
    swap(h, i, p);
    i = p;
  }
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < h.length && less(h[l]!, h[m]!)) m = l;
    if (r < h.length && less(h[r]!, h[m]!)) m = r;
    if (m === i) return;
    swap(h, i, m);
    i = m;
  }
}

/** Add `t` if it has a deadline and is not in the heap yet. */
export function deadlineAdd<T extends Deadlined>(h: T[], t: T): void {
  if (t.deadline < 0 || t.deadlinePos >= 0) return;
  t.deadlinePos = h.length;
  h.push(t);
  sift(h, t.deadlinePos);
}

/** Remove `t` from the heap (idempotent). */
export function deadlineRemove<T extends Deadlined>(h: T[], t: T): void {
  const i = t.deadlinePos;
  if (i < 0) return;
  t.deadlinePos = -1;
  const last = h.pop()!;
  if (i < h.length) {
    h[i] = last;
    last.deadlinePos = i;
    sift(h, i);
  }
}
