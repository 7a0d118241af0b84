/*
 * A Promela model of the ordering of multi-log ops on parallel logs
 * (src/nr/cnr/order.ts and cnr-replica.ts). Checked by model/run.sh with
 * spin. See docs/nr.md, "Parallel logs (CNR)".
 *
 * Abstractions:
 * - each log is an array of entries with a tail; appending one is one
 *   atomic step (the per-log reserve, copy and seal, their torn-append
 *   repair and fencing are nr-log.pml's subject, unchanged per log);
 * - rows are never reused (the model runs fewer multi-log ops than rows);
 * - time is abstracted: a bounded wait's "timed out" branch (abort a
 *   pending multi-log op, take the order over from its stalled holder) may
 *   be taken at any iteration, which includes too early;
 * - KILL: an appender may stop forever at any step.
 *
 * Processes: two multi-log appenders (Multi), one single-log writer per log
 * (Single), NREP replicas (each holds a partition of every log, replays
 * them with the barrier, publishes CTAILs, and may abort what it waits for).
 *
 * Checked (assertions; each flag below puts one bug back and must be found):
 *  A1 in every log, the committed multi-log ops appear in sequence order
 *     (so no cross-log cycle: the same order in every log);
 *  A2 when a replica applies multi-log op s, each of its partitions has
 *     applied exactly the entries before s's entry in its log;
 *  A3 no replica applies an op that is not COMMITTED, and a decided row
 *     never changes; an appender reports committed iff its row is COMMITTED;
 *  A4 at rest (where a read runs), a replica whose partition i is past
 *     committed s's entry in log i sees every log's CTAIL past s's entry:
 *     a read on any log that starts later sees s too (the read side of
 *     linearizability);
 *  A5 a nested drive never needs a partition that is mid-apply (no cycle).
 * Flags:
 *   NO_ORDER     appenders take a sequence number without the order (no lock)
 *   STEAL_EARLY  the order is taken over without first deciding the holder's row
 *   NO_DRIVE     a replica applies s in one partition without bringing the others to it
 *   NO_WAIT      a replica applies a multi-log op whose row is still PENDING
 */
#define L 2             /* logs */
#define N 5             /* entries per log the model can hold */
#define M 2             /* multi-log ops (seqs 1..M) */
#ifndef NREP
#define NREP 1          /* replicas */
#endif
#ifndef MULTIS
#define MULTIS 2        /* multi-log appenders (at most M) */
#endif
#define MULTI 10        /* an entry holding 10 + s is multi-log op s; 1..9 single ops */

#define UNCLAIMED 0
#define PENDING 1
#define COMMITTED 2
#define ABORTED 3

byte ent[L * N];
byte tail[L];
byte ctail[L];
byte ORDER;             /* seq * 2 + held */
byte NEXTSEQ = 1;       /* NO_ORDER only: a plain counter */
byte row[M + 1];
byte pos[(M + 1) * L];
bool gApplied[M + 1];   /* ghost: some replica applied multi-log op s */
byte gDecided[M + 1];   /* ghost: the first decision seen */

inline decide(s, to) {
  assert(gDecided[s] == 0 || gDecided[s] == to);
  assert(to != ABORTED || !gApplied[s]);
  gDecided[s] = to;
  row[s] = to
}

inline append(i, v, s) {
  atomic {
    assert(tail[i] < N);
    ent[i * N + tail[i]] = v;
    if :: s > 0 -> pos[s * L + i] = tail[i] :: else -> skip fi;
    tail[i]++
  }
}

#ifdef KILL
#define MAYSTOP if :: goto stopped :: skip fi
#else
#define MAYSTOP skip
#endif

proctype Multi() {
  byte s, ov, st, i;
#ifdef NO_ORDER
  atomic { s = NEXTSEQ; NEXTSEQ++; row[s] = PENDING };
#else
  do
  :: atomic { ORDER % 2 == 0 -> s = ORDER / 2 + 1; ORDER = s * 2 + 1 }; break
  :: atomic { ORDER % 2 == 1 -> ov = ORDER; st = ORDER / 2 };   /* the holder looks stalled: take over */
#ifndef STEAL_EARLY
     atomic { if :: row[st] == UNCLAIMED || row[st] == PENDING -> decide(st, ABORTED) :: else -> skip fi };
#else
     atomic { if :: row[st] == PENDING -> decide(st, ABORTED) :: else -> skip fi };
#endif
     atomic { if :: ORDER == ov -> ORDER = ov - 1 :: else -> skip fi }
  od;
  MAYSTOP;
  atomic { if :: row[s] == UNCLAIMED -> row[s] = PENDING :: else -> goto stopped fi };   /* aborted while we stalled */
#endif
  MAYSTOP;
  i = 0;
  do
  :: i < L -> append(i, MULTI + s, s); i++; MAYSTOP
  :: else -> break
  od;
  atomic {
    if
    :: row[s] == PENDING -> decide(s, COMMITTED)
    :: else -> assert(row[s] == ABORTED && !gApplied[s])   /* reported as not taken effect */
    fi
  };
#ifndef NO_ORDER
  atomic { if :: ORDER == s * 2 + 1 -> ORDER = s * 2 :: else -> skip fi };
#endif
stopped:
  skip
}

proctype Single(byte i; byte v) {
  append(i, v, 0)
}

/* Wait for multi-log op s to be decided, or abort it (a timeout: any time). */
inline awaitDecided(s) {
  do
  :: atomic { row[s] == COMMITTED || row[s] == ABORTED -> break }
  :: atomic { row[s] == PENDING -> decide(s, ABORTED); break }
#ifdef NO_WAIT
  :: atomic { row[s] == PENDING -> break }
#endif
  od
}

proctype Replica() {
  byte lt[L];            /* applied entries per partition */
  byte reached[L];       /* last multi-log op met per partition */
  byte lastSeq[L];       /* A1: last committed multi-log op met per log */
  byte i, j, e, s, e2, s2, k;
  bool applying[L];
end_idle:
  do
  :: lt[0] < tail[0] -> i = 0; goto step
  :: lt[1] < tail[1] -> i = 1; goto step
  od;
step:
  e = ent[i * N + lt[i]];
  applying[i] = true;
  if
  :: e < MULTI -> lt[i]++
  :: e >= MULTI ->
     s = e - MULTI;
     awaitDecided(s);
     if
     :: row[s] == ABORTED -> lt[i]++
     :: else ->
        assert(s > lastSeq[i]);                       /* A1 */
        lastSeq[i] = s;
        if :: reached[i] < s -> reached[i] = s :: else -> skip fi;
#ifndef NO_DRIVE
        j = 1 - i;
        if
        :: reached[j] < s ->
           assert(!applying[j]);                      /* A5 */
           applying[j] = true;
           assert(lt[j] <= pos[s * L + j]);
           do
           :: lt[j] < pos[s * L + j] + 1 ->
              e2 = ent[j * N + lt[j]];
              if
              :: e2 < MULTI -> lt[j]++
              :: e2 >= MULTI ->
                 s2 = e2 - MULTI;
                 awaitDecided(s2);
                 if
                 :: row[s2] == ABORTED -> lt[j]++
                 :: else ->
                    assert(s2 > lastSeq[j]);           /* A1 */
                    lastSeq[j] = s2;
                    reached[j] = s2;
                    /* its other partition (i) is on the stack: it must be past s2 */
                    assert(reached[i] >= s2);          /* A5 */
                    assert(gDecided[s2] == COMMITTED); /* A3 */
                    gApplied[s2] = true;
                    lt[j]++
                 fi
              fi
           :: else -> break
           od;
           applying[j] = false;
           atomic { if :: ctail[j] < lt[j] -> ctail[j] = lt[j] :: else -> skip fi }   /* the nested run publishes (a fetch-max) */
        :: else -> skip
        fi;
        k = 0;
        do                                              /* A2 */
        :: k < L -> assert(k == i || lt[k] == pos[s * L + k] + 1); k++
        :: else -> break
        od;
#endif
        assert(row[s] == COMMITTED || row[s] == PENDING);
#ifndef NO_WAIT
        assert(row[s] == COMMITTED);                    /* A3 */
#endif
        gApplied[s] = true;
        lt[i]++
     fi
  fi;
  applying[i] = false;
  atomic { if :: ctail[i] < lt[i] -> ctail[i] = lt[i] :: else -> skip fi };
  /* A4, at rest */
  atomic {
    s = 1;
    do
    :: s <= M ->
       if
       :: row[s] == COMMITTED ->
          k = 0;
          do
          :: k < L ->
             if
             :: lt[k] > pos[s * L + k] && ent[k * N + pos[s * L + k]] == MULTI + s ->
                j = 0;
                do
                :: j < L -> assert(ctail[j] > pos[s * L + j]); j++
                :: else -> break
                od
             :: else -> skip
             fi;
             k++
          :: else -> break
          od
       :: else -> skip
       fi;
       s++
    :: else -> break
    od
  };
  goto end_idle
}

init {
  byte r = 0;
  atomic {
    run Multi();
    if :: MULTIS > 1 -> run Multi() :: else -> skip fi;
    run Single(0, 1);
    run Single(1, 2);
    do
    :: r < NREP -> run Replica(); r++
    :: else -> break
    od
  }
}
