/**
 * `checkLinearizable`: validate, split into partitions, search each, and
 * explain the first violation.
 */
import { search } from './search.js';
import {
  LincheckError,
  type CheckOptions,
  type CheckResult,
  type Model,
  type Operation,
  type PartitionKey,
} from './types.js';
import { describeOp, show, structurallyEqual } from './values.js';
import { findWitness } from './witness.js';

export const DEFAULT_MAX_STEPS = 5_000_000;
export const DEFAULT_WITNESS_STEPS = 1_000_000;
/**
 * The default witness budget, relative to the failed search's steps: the
 * culprit usually costs one or two failing searches, the rest goes to shrinking.
 */
const WITNESS_FACTOR = 4;
/** Witness ops listed in an explanation; the rest are counted. */
const EXPLAIN_OPS = 12;

const OP_FIELDS = new Set(['client', 'input', 'call', 'ret', 'output']);
const OPTION_FIELDS = new Set(['maxSteps', 'witnessSteps']);

/**
 * Whether `history` has a linearization under `model`: an order of its ops
 * that respects real time (an op answered before another was called comes
 * first) and in which every answered op returns what the model returns.
 * Throws `LincheckError` for a malformed model, history or options object.
 */
export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult<I, O> {
  const { maxSteps, witnessSteps } = validateOptions(options);
  validateModel(model);
  validateHistory(history);
  const equal = model.equalOutput ? (a: O, b: O) => model.equalOutput!(a, b) : structurallyEqual;

  const partitions = new Map<PartitionKey | undefined, Operation<I, O>[]>();
  for (const op of history) {
    // A pending op that changes nothing constrains nothing.
    if (op.ret === undefined && model.readOnly?.(op.input)) continue;
    const key = model.partition ? partitionOf(model, op.input) : undefined;
    const list = partitions.get(key);
    if (list) list.push(op);
    else partitions.set(key, [op]);
  }

  let steps = 0;
  let gaveUp: PartitionKey | undefined | null = null; // null: none gave up
  for (const [key, ops] of partitions) {
    const init = key !== undefined && model.partition?.init ? model.partition.init(key) : model.init;
    const partition = { model, init, equal };
    const r = search(partition, ops, maxSteps);
    steps += r.steps;
    if (r.outcome === 'limit') {
      if (gaveUp === null) gaveUp = key;
      continue;
    }
    if (r.outcome === 'ok') continue;
    const budget = options.witnessSteps ?? Math.max(witnessSteps, WITNESS_FACTOR * r.steps);
    const w = findWitness(partition, ops, budget, r.frontier);
    const where = key === undefined ? `model ${model.name}` : `partition ${show(key)} of model ${model.name}`;
    const listed = [...w.witness].sort((a, b) => a.call - b.call);
    // The latest ops are the ones around the culprit (the witness ends with its answer).
    const lines = listed.slice(-EXPLAIN_OPS).map((op) => `  ${op === w.culprit ? '* ' : ''}${describeOp(model, op)}`);
    if (listed.length > EXPLAIN_OPS) lines.unshift(`  ... ${listed.length - EXPLAIN_OPS} earlier ops, then`);
    const head = w.culprit
      ? `no linearization in ${where}: no order of these ${listed.length} ops explains ${describeOp(model, w.culprit)}`
      : `no linearization in ${where} (witness search ran out of steps; all ${listed.length} ops listed)`;
    return {
      verdict: 'violation',
      partition: key,
      culprit: w.culprit,
      witness: w.witness,
      minimal: w.minimal,
      explanation: `${head}\n${lines.join('\n')}`,
      steps: steps + w.steps,
    };
  }
  if (gaveUp !== null) return { verdict: 'gave-up', reason: 'step limit', partition: gaveUp, steps };
  return { verdict: 'linearizable', steps, partitions: partitions.size };
}

function partitionOf<I>(model: Model<unknown, I, unknown>, input: I): PartitionKey {
  const key = model.partition!.key(input);
  if (typeof key !== 'string' && typeof key !== 'number') {
    throw new LincheckError('ERR_LINCHECK_MODEL', `model ${model.name}: partition.key returned ${show(key)}, not a string or number`);
  }
  return key;
}

function validateOptions(options: CheckOptions): Required<CheckOptions> {
  if (typeof options !== 'object' || options === null) {
    throw new LincheckError('ERR_LINCHECK_OPTIONS', 'options must be an object');
  }
  for (const k of Object.keys(options)) {
    if (!OPTION_FIELDS.has(k)) throw new LincheckError('ERR_LINCHECK_OPTIONS', `unknown option ${JSON.stringify(k)}`);
  }
  const bound = (name: keyof CheckOptions, fallback: number): number => {
    const v = options[name] ?? fallback;
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new LincheckError('ERR_LINCHECK_OPTIONS', `${name} must be a non-negative integer, got ${show(v)}`);
    }
    return v;
  };
  return { maxSteps: bound('maxSteps', DEFAULT_MAX_STEPS), witnessSteps: bound('witnessSteps', DEFAULT_WITNESS_STEPS) };
}

function validateModel(model: Model<unknown, never, unknown>): void {
  const bad = (what: string): never => {
    throw new LincheckError('ERR_LINCHECK_MODEL', `model ${what}`);
  };
  if (typeof model !== 'object' || model === null) bad('must be an object');
  if (typeof model.step !== 'function') bad('needs a step(state, input) function');
  if (typeof model.hash !== 'function') bad('needs a hash(state) function');
  for (const f of ['equalOutput', 'readOnly', 'describe'] as const) {
    if (model[f] !== undefined && typeof model[f] !== 'function') bad(`${f} must be a function`);
  }
  if (model.partition !== undefined) {
    if (typeof model.partition.key !== 'function') bad('partition needs a key(input) function');
    if (model.partition.init !== undefined && typeof model.partition.init !== 'function') bad('partition.init must be a function');
  }
}

function validateHistory(history: readonly Operation<unknown, unknown>[]): void {
  if (!Array.isArray(history)) throw new LincheckError('ERR_LINCHECK_HISTORY', 'history must be an array of operations');
  history.forEach((op, index) => {
    const bad = (why: string): never => {
      throw new LincheckError('ERR_LINCHECK_HISTORY', `operation ${index}: ${why}`, index);
    };
    if (typeof op !== 'object' || op === null) bad('not an object');
    for (const k of Object.keys(op)) if (!OP_FIELDS.has(k)) bad(`unknown field ${JSON.stringify(k)}`);
    if (!('input' in op)) bad('no input');
    if (typeof op.call !== 'number' || !Number.isFinite(op.call)) bad(`call must be a finite number, got ${show(op.call)}`);
    if (op.ret === undefined) {
      if (op.output !== undefined) bad('a pending op (no ret) has no output');
    } else if (typeof op.ret !== 'number' || !Number.isFinite(op.ret) || op.ret < op.call) {
      bad(`ret must be a finite number >= call (${op.call}), got ${show(op.ret)}`);
    }
  });
}
