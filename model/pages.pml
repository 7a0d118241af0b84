/*
 * Reuse of NrFS's shared file pages (src/fs/pages/holder.ts, pool.ts, the
 * read in fds.ts readAt; the core's logMark / appliedEverywhere / fencing).
 * Checked by model/run.sh with spin. See docs/fs.md, "Page reclamation".
 *
 * One file of one page. A writer replica overwrites it K times: it takes a
 * free pool page, fills its two data words (plain stores, one step each),
 * appends an entry naming the page, and applies it: its table names the new
 * page, and the page the entry displaced becomes RETIRING, stamped with a
 * log mark (at or after the end of that entry: holder.ts stamps lazily, so
 * any later mark) and freed once HEAD has reached the mark. A reader
 * replica replays the entries into its own table and reads: it copies the
 * two words of the page its table names (a step each), then checks that it
 * still holds the log (holdsLog: its slot is not fenced); if not, it
 * recovers by state transfer (the writer's table and position) and reads
 * again. HEAD is the least position of the replicas that hold the log: it
 * passes the reader only once the reader is fenced, which a writer short
 * of pages may do at any time (time is abstracted: a bounded wait's
 * "timed out" branch may be taken at any iteration, too early included).
 *
 * Checked: every read returns the value of the write at its replica's
 * position, whole (both words), never a torn or reused page; no process
 * blocks forever.
 *
 * Abstractions: write i stores the value i, so the value at position p is
 * p; the log itself is not reused (its own reuse is nr-log.pml's); memory
 * is sequentially consistent (JS Atomics); the page's state words are
 * single atomic steps, as their CASes are.
 *
 * Flags that put a bug back:
 *   NO_RECHECK   the read does not check holdsLog after its copy
 *   MARK_EARLY   the mark is the start of the retiring entry, not its end
 *   HEAD_PASSES  HEAD follows the writer alone (a lagging reader is not fenced first)
 */
#ifndef K
#define K 4             /* writes */
#endif
#ifndef READS
#define READS 3         /* reads the reader makes */
#endif
#define NP 3            /* pool pages */
#define FREE 0
#define TAKEN 1
#define LIVE 2
#define RETIRING 3
#define ACTIVE 1
#define FENCED 2

byte state[NP];         /* page states (pool.ts STATE words) */
byte mark[NP];          /* a RETIRING page's mark (the holder's private queue) */
byte w0[NP], w1[NP];    /* a page's two data words */
byte ent[K + 1];        /* ent[i]: the page the entry at position i names (positions 1..K) */
byte TAIL;              /* entries appended */
byte wLT;               /* the writer's position (its LTAIL): entries it has applied */
byte rLT;               /* the reader's position (its LTAIL) */
byte rState = ACTIVE;   /* the reader's slot */
byte rtab;              /* the page the reader's table names */
byte wtab;              /* the page the writer's table names */
byte gReads;            /* ghost: reads returned */

/* HEAD reached mark m: every replica that holds the log has applied past it. */
#ifdef HEAD_PASSES
#define HEAD_AT(m) (wLT >= (m))
#else
#define HEAD_AT(m) (wLT >= (m) && (rState == FENCED || rLT >= (m)))
#endif

proctype Writer() {
  byte v = 1, p, q, i;
  do
  :: v > K -> break
  :: else ->
     /* take a free page; short of one, free what HEAD has passed, or fence the laggard */
     p = NP;
     do
     :: p < NP -> break
     :: else ->
        atomic {
          i = 0;
          do
          :: i < NP && state[i] == FREE -> p = i; state[i] = TAKEN; break
          :: i < NP && state[i] != FREE -> i++
          :: i == NP -> break
          od
        }
        if
        :: p < NP -> skip
        :: else ->
           i = 0;
           do
           :: i < NP ->
              atomic { if :: state[i] == RETIRING && HEAD_AT(mark[i]) -> state[i] = FREE :: else -> skip fi };
              i++
           :: i == NP -> break
           od;
           if
           :: atomic { rState == ACTIVE && rLT < TAIL -> rState = FENCED }  /* fenceHolding, after fenceAfterMs */
           :: skip
           fi
        fi
     od;
     /* fill it: plain stores */
     w0[p] = v;
     w1[p] = v;
     /* append the entry naming it (the seal publishes the stores before it) */
     atomic { ent[TAIL + 1] = p; TAIL++ }
     /* apply on the writer's replica: install, retire the displaced page */
     atomic {
       q = wtab;
       wtab = p;
       state[p] = LIVE;
       state[q] = RETIRING;
#ifdef MARK_EARLY
       mark[q] = TAIL - 1;
#else
       mark[q] = TAIL;
#endif
       wLT = TAIL
     }
     /* a later stamp is a safe one: holder.ts stamps every STAMP_EVERY flushes */
     if
     :: atomic { mark[q] < TAIL -> mark[q] = TAIL }
     :: skip
     fi;
     /* reclaim what HEAD has passed (RECLAIM_EVERY) */
     i = 0;
     do
     :: i < NP ->
        atomic { if :: state[i] == RETIRING && HEAD_AT(mark[i]) -> state[i] = FREE :: else -> skip fi };
        i++
     :: i == NP -> break
     od;
     v++
  od
}

proctype Reader() {
  byte n = 0, p, a, b, at;
  do
  :: n == READS -> break
  :: else ->
     /* catch up some way (to CTAIL as it stands, or not at all), publishing only while holding the log */
     do
     :: atomic { rState == ACTIVE && rLT < TAIL -> rtab = ent[rLT + 1]; rLT++ }
     :: break
     od;
     if
     :: rState == FENCED ->
        atomic { rtab = wtab; rLT = wLT; rState = ACTIVE }   /* recovery: state transfer from the writer's state */
     :: else -> skip
     fi;
     /* the read: copy the page its table names, then check it still holds the log */
     at = rLT;
     p = rtab;
     a = w0[p];
     b = w1[p];
#ifdef NO_RECHECK
     if :: true ->
#else
     if
     :: rState == ACTIVE ->
#endif
        assert(a == at && b == at);   /* the value at its position, whole */
        n++;
        gReads++
     :: else -> skip                  /* fenced meanwhile: the copy may have read a reused page; recover and read again */
     fi
  od
}

init {
  /* position 0: the file's first contents (value 0) in page 0, named by both tables */
  atomic {
    state[0] = LIVE;
    wtab = 0;
    rtab = 0;
    run Writer();
    run Reader()
  }
}
