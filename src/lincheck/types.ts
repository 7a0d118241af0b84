/**
 * The checker's public types: a sequential model, a history of operations,
 * and a three-way verdict.
 */

/** What a partition is named by (Map semantics: `1` and `'1'` differ). */
export type PartitionKey = string | number;

/** One way an op can take effect: the state after it, and what it returns. */
export interface Outcome<S, O> {
  readonly state: S;
  readonly output: O;
}

/**
 * A step of the sequential specification: the one outcome of a deterministic
 * op, or every possible outcome of a nondeterministic one (an empty list: the
 * op cannot take effect in this state).
 */
export type StepResult<S, O> = Outcome<S, O> | readonly Outcome<S, O>[];

/** How a model splits a history into independent sub-histories (P-compositionality). */
export interface Partitioning<S, I> {
  /** The partition an op belongs to; ops of different partitions never interact. */
  key(input: I): PartitionKey;
  /** The state a partition starts in (default: the model's `init`). */
  init?(key: PartitionKey): S;
}

/**
 * A sequential specification. `step` must be a pure function of its
 * arguments and must not mutate `state` (the search backtracks to it).
 */
export interface Model<S, I, O> {
  /** Shown in explanations. */
  readonly name: string;
  /** The initial state (of every partition, unless `partition.init` says otherwise). */
  readonly init: S;
  step(state: S, input: I): StepResult<S, O>;
  /**
   * A canonical encoding of a state: equal states give equal hashes and
   * different states different ones (the memo treats equal hashes as one state).
   */
  hash(state: S): string | number;
  /** Whether a recorded output matches the model's (default: structural equality). */
  equalOutput?(model: O, recorded: O): boolean;
  /** Check each partition on its own; only sound if ops of different partitions commute. */
  readonly partition?: Partitioning<S, I>;
  /**
   * Ops that never change the state. A pending one constrains nothing, so
   * the checker drops it before searching.
   */
  readOnly?(input: I): boolean;
  /** A short text for an input, for explanations (default: JSON-like). */
  describe?(input: I): string;
}

/**
 * One operation of a history. Times are numbers on one clock shared by every
 * client; `call <= ret`. An op whose `ret` is absent is pending: it was
 * invoked and never answered (its client died), so it may have taken effect
 * at any moment after `call`, or never, and it has no output to check.
 * Touching intervals (`a.ret === b.call`) count as concurrent.
 */
export interface Operation<I, O> {
  /** Who issued it (informational: shown in explanations). */
  readonly client?: number;
  readonly input: I;
  readonly call: number;
  readonly ret?: number;
  /** What the op returned; absent on a pending op. */
  readonly output?: O;
}

/** Options of `checkLinearizable`. */
export interface CheckOptions {
  /** Bound on model steps in each partition's search (default 5,000,000). */
  readonly maxSteps?: number;
  /**
   * Bound on model steps spent finding the culprit and shrinking the witness
   * (default: 4 times the steps of the search that failed, at least 1,000,000).
   */
  readonly witnessSteps?: number;
}

export interface Linearizable {
  readonly verdict: 'linearizable';
  /** Model steps taken, over every partition. */
  readonly steps: number;
  readonly partitions: number;
}

export interface Violation<I, O> {
  readonly verdict: 'violation';
  /** The partition that has no linearization (undefined: the model is not partitioned). */
  readonly partition: PartitionKey | undefined;
  /**
   * The op whose answer no linearization explains: the history up to just
   * before its response is linearizable, with it is not. Undefined only if
   * the witness budget ran out before it was found.
   */
  readonly culprit: Operation<I, O> | undefined;
  /**
   * A sub-history of the partition that has no linearization, containing the
   * culprit, and linearizable without it. Ops still unanswered when the
   * culprit answered appear as pending (no `ret`, no `output`).
   */
  readonly witness: readonly Operation<I, O>[];
  /** Whether the witness is 1-minimal (no single op can be removed); false if the budget ran out. */
  readonly minimal: boolean;
  readonly explanation: string;
  /** Model steps taken: the searches up to this partition, plus the witness search. */
  readonly steps: number;
}

export interface GaveUp {
  readonly verdict: 'gave-up';
  readonly reason: 'step limit';
  /** The first partition whose search hit `maxSteps`. */
  readonly partition: PartitionKey | undefined;
  readonly steps: number;
}

export type CheckResult<I, O> = Linearizable | Violation<I, O> | GaveUp;

/** Bad input to the checker: a malformed history, model or options object. Nothing was checked. */
export class LincheckError extends Error {
  override readonly name = 'LincheckError';
  constructor(
    readonly code: 'ERR_LINCHECK_HISTORY' | 'ERR_LINCHECK_MODEL' | 'ERR_LINCHECK_OPTIONS',
    message: string,
    /** For a history error: the index of the offending op. */
    readonly index?: number,
  ) {
    super(message);
  }
}
