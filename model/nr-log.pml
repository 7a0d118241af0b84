/*
 * A Promela model of the node-replication log protocol (src/nr/log.ts,
 * replica.ts, transfer.ts), the FIXED protocol of issue 11.
 * Checked by model/run.sh with spin. See docs/nr.md, "Model checking".
 *
 * Abstractions (why each is sound for what is checked is in docs/nr.md):
 * - positions are unbounded-but-bounded-run counters (byte), cell = pos % N;
 * - memory is sequentially consistent (JS Atomics are; data cells are plain
 *   stores published by the seal store, modelled as SC steps of their own);
 * - an entry header cell holds (cells | kind) and one op id; a payload cell
 *   of a 2-cell entry holds bytes that may look like anything: GARBAGE
 *   (an invalid cell count) or a valid-looking 1-cell batch header;
 * - time is abstracted: every bounded wait is a loop whose "timed out"
 *   branch (fence the lagger, repair a torn entry, give up a transfer)
 *   may be taken at any iteration, which includes taking it too early;
 * - a replica's structure state is (hash of applied op ids in order, set
 *   of applied op ids); a snapshot carries both.
 *
 * Ghost variables (g*) are the model's knowledge, never read by the
 * protocol: which position starts in each cell, which ops were
 * acknowledged or reported as never applied.
 *
 * Bounds: NR replicas (2; 3 works), K0 writes by replica 0, K by the
 * others; NOKILL (nobody stopped), VICTIM=r (only r may be stopped).
 * Flags that put a behaviour of src/nr as of 0f4bb21 back (docs/nr.md):
 *   LAPPED_BUG          trust seal == pos, publish in the finally when fenced
 *   LATE_SEAL_BUG       sealOwn CASes from the value read at seal time
 *   SV_AFTER_CAS        ... read right after the TAIL CAS
 *   REREAD_INTENT       the repairer re-reads the owner's intent after fencing
 *   SLOT_REPAIR_RECORDS one repair record per writer slot (REPAIR0_BUG: starting at 0)
 *   HEAD_TO_TAIL        with no holder, head jumps to TAIL
 *   KEEP_NONE           a run that ended fenced always discards its state
 *   LATE_WRITE          drop assumption A1 (the entry copy as plain stores)
 *   NO_REPAIR           no torn-append repair (liveness must fail)
 *   STRICT_RECOVERY     assert no RecoveryError unless a replica was stopped
 */

#ifndef NR
#define NR 2            /* replica slots (each one a process: writer and replayer) */
#endif
#ifndef K
#define K 2             /* most writes one replica makes (bounds the run) */
#endif
#ifndef K0
#define K0 K            /* writes replica 0 makes */
#endif
#define KOF(r) ((r) == 0 -> K0 : K)
#define N 4             /* cells in the ring */
#define MAXC 2          /* max cells per entry */
#define MAXPOS 32       /* positions stay below this in every run (asserted) */
#define NONE 255

/* slot states */
#define FREE 0
#define RESERVED 1
#define ACTIVE 2
#define DETACHED 3
#define FENCED 4
#define RECOVERING 5
#define DEAD 6
#define holdsHead(s) ((s) == RESERVED || (s) == ACTIVE || (s) == RECOVERING)

/* header word: cells in the low 3 bits, PAD flag */
#define PADF 8
#define GARBAGE 7       /* a payload byte pattern whose "cell count" is 7 */
#define BOGUS 99        /* op id a payload cell shows when decoded as a header */

/* seal values: a seal is the full position; a repaired entry's seal is
 * pos + N/2 (another residue mod N than any genuine seal of that cell);
 * cell i starts at INIT(i), congruent to N-1-i (as ~i in log.ts). */
#define REPAIR(p) ((p) + N / 2)
#define INIT(i) (252 + N - 1 - (i))
#define isPos(v) ((v) < MAXPOS)
#define lappedSeal(v, p) (isPos(v) && ((v) % N) == ((p) % N) && (v) > (p))

/* transfer STATUS */
#define IDLE 0
#define REQ 1
#define SERVING 2
#define READY 3

byte HEAD, TAIL, CTAIL;
byte seal[N];
byte hdr[N];
byte opid[N];
byte LTAIL[NR];
byte STATE[NR];
byte intentPos[NR];
byte intentCells[NR];
bool intentOwned[NR];
byte repairPos[NR];
byte repairCells[NR];
byte repairAt[N];        /* cells to skip at a repaired entry, per cell */

byte LOCK;              /* 0 free, else holder slot + 1 */
byte STATUS, REQUESTER, TPOS, THASH;
byte TMASK;

byte killed = NONE;     /* the one process stopped forever (if any) */

/* ghosts */
byte gStart[N];         /* position whose entry header is in the cell, NONE if payload or pad tail */
byte gAcked;            /* op ids acknowledged to a caller (bit per op) */
byte gNever;            /* op ids reported as never applied (FencedError{committed:false}) */
short gHashAt[MAXPOS];  /* the state hash every replica has at a position it published, -1 unknown */

#define bit(o) (1 << ((o) - 1))
#define opOf(r, k) ((r) * K + (k) + 1)

/* CTAIL only moves forward, to a position reached through genuine entries, at or before TAIL */
inline complete(p) {
  atomic {
    assert(p <= TAIL);
    if
    :: CTAIL < p -> CTAIL = p
    :: else -> skip
    fi
  }
}

/* HEAD := min LTAIL over slots that hold head (or TAIL if none); then re-fence
 * any Active slot that head passed (it turned Active after the scan). */
inline advanceHead() {
  d_step {
    nh = TAIL; holder = false;
    i = 0;
    do
    :: i < NR -> if :: holdsHead(STATE[i]) && LTAIL[i] < nh -> nh = LTAIL[i] :: else -> skip fi;
                 if :: holdsHead(STATE[i]) -> holder = true :: else -> skip fi; i++
    :: else -> break
    od;
#ifndef HEAD_TO_TAIL
    /* no slot holds head: leave it, so fenced replicas can still rejoin
     * without a transfer (HEAD_TO_TAIL: log.ts moves it to TAIL) */
    if :: !holder -> nh = HEAD :: else -> skip fi;
#endif
    i = 0; holder = false
  }
  atomic { if :: HEAD < nh -> HEAD = nh :: else -> skip fi; nh = 0 }
  d_step {
    i = 0;
    do
    :: i < NR -> if :: STATE[i] == ACTIVE && LTAIL[i] < HEAD -> STATE[i] = FENCED :: else -> skip fi; i++
    :: else -> break
    od;
    i = 0
  }
}

/* fence slot r if it holds head: Reserved -> Free, Active/Recovering -> Fenced */
inline fence(r) {
  atomic {
    if
    :: STATE[r] == RESERVED -> STATE[r] = FREE
    :: STATE[r] == ACTIVE || STATE[r] == RECOVERING -> STATE[r] = FENCED
    :: else -> skip
    fi
  }
  advanceHead()
}

/* A replayer stuck on the unsealed entry at p: find its owner (the intent
 * that starts there, or whose pad ends there; an unmarked one only if it is
 * the single candidate), fence it if it still holds head (the wait timed
 * out), and turn its entry into a skip. */
inline tryRepair(p) {
#ifdef NO_REPAIR
  skip  /* no torn-append repair: a replayer waits on a dead writer's entry forever */
#else
  d_step {
    owner = NONE; cand = NONE; ncand = 0; i = 0;
    do
    :: i < NR ->
       if
       :: intentCells[i] != 0 && (intentPos[i] == p ||
            (seal[intentPos[i] % N] == intentPos[i] && (hdr[intentPos[i] % N] & PADF) != 0 &&
             intentPos[i] + (hdr[intentPos[i] % N] & 7) == p)) ->
          if
          :: intentOwned[i] -> owner = i
          :: else -> cand = i; ncand++
          fi
       :: else -> skip
       fi;
       i++
    :: else -> break
    od;
    if :: owner == NONE && ncand == 1 -> owner = cand :: else -> skip fi;
    /* the reservation's end and the seal, read right after the intent that
     * named p: the repair CASes from that seal value */
    if :: owner != NONE -> rend = intentPos[owner] + intentCells[owner]; rv = seal[p % N] :: else -> skip fi;
    i = 0; cand = 0; ncand = 0
  }
  if
  :: owner != NONE ->
     if
     :: holdsHead(STATE[owner]) -> fence(owner)
     :: else -> skip
     fi;
     atomic {
       if
#ifdef REREAD_INTENT
       /* log.ts: re-reads the owner's intent after fencing it (the owner may
        * have moved on to a new reservation) and CASes from a fresh seal */
       :: !holdsHead(STATE[owner]) && seal[p % N] != p && seal[p % N] != REPAIR(p) ->
          rend = intentPos[owner] + intentCells[owner];
#else
       :: !holdsHead(STATE[owner]) && seal[p % N] == rv && rv != p && rv != REPAIR(p) ->
#endif
#ifdef SLOT_REPAIR_RECORDS
          repairPos[owner] = p;
          repairCells[owner] = rend - p;
#else
          repairAt[p % N] = rend - p;
#endif
          seal[p % N] = REPAIR(p)
       :: else -> skip
       fi
     }
  :: else -> skip
  fi;
  owner = NONE; rend = 0; rv = 0
#endif
}

/* An Active slot whose LTAIL head passed must not stay Active. */
#define headSafe(r) (STATE[r] != ACTIVE || LTAIL[r] >= HEAD)

/* every process but the stopped one, and it only while it ran */
#define alive(r) (killed != (r))

/* some other slot is Active and was not stopped forever (a live source of state) */
#if NR > 2
#define liveProvider (  (me != 0 && STATE[0] == ACTIVE && killed != 0) \
                     || (me != 1 && STATE[1] == ACTIVE && killed != 1) \
                     || (me != 2 && STATE[2] == ACTIVE && killed != 2))
#else
#define liveProvider (STATE[1 - me] == ACTIVE && killed != 1 - me)
#endif

byte gProvider = NONE;  /* ghost: who claimed the current request */

/* Publish what a run reached through genuine entries: LTAIL, then CTAIL. */
inline publish() {
  d_step {
    assert(!tainted);                   /* never keep or publish state decoded from non-entry bytes */
    assert((mask & gNever) == 0);       /* never applied an op reported as not applied */
    assert(pos < MAXPOS);
    if
    :: gHashAt[pos] == -1 -> gHashAt[pos] = h
    :: else -> assert(gHashAt[pos] == h)  /* same position, same state: same entries in the same order */
    fi
  }
  ltail = pos;
  LTAIL[me] = pos;
  complete(pos)
}

/* Apply every entry from ltail up to tgt. The fix of issue 11 is the
 * #ifndef LAPPED_BUG part: validate each header, and a run that ended
 * fenced (or lapped) publishes nothing; its state is discarded. */
inline replayRun(tgt) {
  pos = ltail;
  do
  :: pos >= tgt -> break
  :: else ->
     do
     :: seal[pos % N] == pos -> st = 1; break
     :: seal[pos % N] == REPAIR(pos) -> st = 2; break
     :: lappedSeal(seal[pos % N], pos) -> st = 3; break
     :: else -> tryRepair(pos)           /* the wait timed out */
     od;
     if
     :: st == 3 -> stale = true; break  /* lapped: our cells were reused */
     :: st == 2 ->
        d_step {
#ifdef SLOT_REPAIR_RECORDS
          /* log.ts: one record per writer slot (a second repair of the same
           * writer overwrites a record a slow replayer still needs) */
          dc = 0; i = 0;
          do
          :: i < NR -> if :: repairPos[i] == pos -> dc = repairCells[i] :: else -> skip fi; i++
          :: else -> break
          od;
          i = 0;
#else
          /* one record per cell: rewritten only a lap later, when every
           * replayer that still needs it has been overtaken */
          dc = repairAt[pos % N];
#endif
          assert(dc >= 1 && dc <= MAXC + 1);
          pos = pos + dc; dc = 0
        }
     :: st == 1 ->
        d_step { dc = hdr[pos % N]; dop = opid[pos % N]; genuine = (gStart[pos % N] == pos) }
#ifndef LAPPED_BUG
        if
        :: (dc & 7) < 1 || (dc & 7) > MAXC || (pos % N) + (dc & 7) > N || pos + (dc & 7) > TAIL ->
           if
           :: HEAD > ltail || STATE[me] != ACTIVE -> stale = true; break  /* overtaken or fenced: publish nothing */
           :: else -> assert(false)     /* invalid header in cells nobody could reuse: corruption, fail-stop */
           fi
        :: else -> skip
        fi;
#endif
        d_step {
          if :: !genuine -> tainted = true :: else -> skip fi;
          if
          :: (dc & PADF) == 0 ->
             h = h * 7 + dop;
             if :: dop >= 1 && dop <= NR * K -> mask = mask | bit(dop) :: else -> skip fi
          :: else -> skip
          fi;
          pos = pos + (dc & 7); dc = 0; dop = 0; genuine = false
        }
     fi
  od;
  st = 0;
  /* the finally */
#ifdef LAPPED_BUG
  publish()
#else
  /* The run is genuine iff head, read after it, has not passed where it
   * began (ltail): then no cell it read can have been reused. */
  if
  :: !stale && HEAD <= ltail && STATE[me] == ACTIVE -> publish()
  :: !stale && HEAD <= ltail && STATE[me] != ACTIVE ->
     /* fenced during the run, but head never passed where the run began, so
      * no cell it read was reused: keep the state at pos, publish nothing;
      * rejoin publishes LTAIL and reactivates (KEEP_NONE: always discard) */
#ifdef KEEP_NONE
     stale = true; tainted = false
#else
     assert(!tainted); ltail = pos
#endif
  :: else -> stale = true; tainted = false  /* discard: recover by transfer */
  fi
#endif
}

/* Recover by state transfer (transfer.ts); RecoveryError when no live source. */
inline recover() {
  do
  :: STATE[me] == ACTIVE && !stale -> break
  :: else ->
     atomic { if :: STATE[me] == ACTIVE -> STATE[me] = FENCED :: else -> skip fi }
     /* the lock: free, or its holder is dead (declared, or stopped forever and timed out) */
     do
     :: atomic { LOCK == 0 -> LOCK = me + 1 }; break
     :: atomic { LOCK != 0 && LOCK != me + 1 && (STATE[LOCK - 1] == DEAD || killed == LOCK - 1) -> LOCK = me + 1 }; break
     :: !liveProvider -> goto end_gaveUp
     od;
     REQUESTER = me;
     STATUS = REQ;
     do
     :: STATUS == READY ->
        d_step { h = THASH; mask = TMASK; ltail = TPOS; pos = TPOS; stale = false; tainted = false };
        STATUS = IDLE;
        break
     :: atomic { STATUS == REQ && !liveProvider -> STATUS = IDLE; LOCK = 0 }; goto end_gaveUp
     :: atomic { STATUS == SERVING && killed == gProvider -> STATUS = IDLE }; /* provider died: withdraw */
        atomic { if :: STATE[me] == RECOVERING -> STATE[me] = FENCED :: else -> skip fi };
        break
     od;
     LOCK = 0;
     atomic { if :: STATE[me] == RECOVERING -> STATE[me] = ACTIVE :: else -> skip fi }
  od
}

/* A fenced replica publishes LTAIL, turns Active, and goes back to Fenced
 * (and recovers) if head passed its LTAIL. */
inline rejoin() {
  if
  :: STATE[me] == ACTIVE && !stale -> skip
  :: else ->
     if
     :: !stale ->
        LTAIL[me] = ltail;
        atomic { if :: STATE[me] == FENCED -> STATE[me] = ACTIVE; ok = true :: else -> ok = false fi };
        if
        :: ok && ltail >= HEAD -> skip
        :: ok && ltail < HEAD ->
           atomic { if :: STATE[me] == ACTIVE -> STATE[me] = FENCED :: else -> skip fi }
        :: !ok -> skip
        fi;
        ok = false
     :: else -> skip
     fi;
     recover()
  fi
}

inline replayTo(tgt) {
  rejoin();
  replayRun(tgt);
  do
  :: STATE[me] == ACTIVE && !stale -> break
  :: else -> rejoin(); replayRun(tgt)  /* fenced after the run: reactivate if head allows, else transfer */
  od
}

/* The provider's side: claim, catch up, snapshot, hand over, publish. */
inline serve() {
  atomic {
    STATUS == REQ && REQUESTER != me && STATE[me] == ACTIVE && !stale ->
    STATUS = SERVING; req = REQUESTER; gProvider = me
  }
  tgt2 = CTAIL;
  replayRun(tgt2);
  if
  :: stale || STATE[me] != ACTIVE -> STATUS = REQ   /* let another replica serve */
  :: else ->
     d_step { THASH = h; TMASK = mask };
     LTAIL[req] = ltail;
     STATE[req] = RECOVERING;
     if
     :: STATE[me] == ACTIVE -> atomic { TPOS = ltail; STATUS = READY }
     :: else -> STATE[req] = FENCED; STATUS = REQ   /* fenced meanwhile: undo */
     fi
  fi;
  req = 0; tgt2 = 0
}

/* Seal our entry at x unless a repairer turned it into a skip (we were
 * presumed dead). The fix: CAS from the value the cell held right after we
 * reserved (sv), so a late seal cannot overwrite a later lap's seal.
 * LATE_SEAL_BUG: the value is read at seal time (log.ts sealOwn before the
 * fix), so a writer repaired and lapped while stalled clobbers the cell. */
inline sealOwn(x, sv) {
  atomic {
#ifdef LATE_SEAL_BUG
    if :: seal[x % N] == REPAIR(x) -> sealed = false :: else -> seal[x % N] = x fi
#else
    if :: seal[x % N] == sv && sv != REPAIR(x) -> seal[x % N] = x :: else -> sealed = false fi
#endif
  }
}

proctype Replica(byte me) {
  bool holder;
  byte rend, rv;
  byte ltail, pos, tgt, tgt2, h, mask, st, c, o, dc, dop, i, nh, owner, cand, ncand, req;
  byte k, t, pad, p, acked, sv0, sv1;
  bool stale, tainted, genuine, ok, sealed;

  {
    /* attach: a reserved slot becomes Active; one fenced to Free meanwhile joins as Fenced */
    atomic {
      if
      :: STATE[me] == RESERVED -> STATE[me] = ACTIVE
      :: STATE[me] == FREE -> STATE[me] = FENCED
      fi
    }
    do
    :: k < KOF(me) ->
       d_step { o = opOf(me, k); k++ };
       if :: c = 1 :: c = 2 fi;
       /* reserve: record the intent, one CAS on TAIL, mark the intent owned */
       do
       :: atomic {
            t = TAIL;
            if :: (t % N) + c > N -> pad = N - (t % N) :: else -> pad = 0 fi;
            ok = (t + pad + c - HEAD <= N);
#ifndef SV_AFTER_CAS
            /* the seals our cells hold before we reserve them (final: head
             * passed their entries): we seal with a CAS from these values */
            sv0 = seal[t % N]; sv1 = seal[(t + pad) % N];
#endif
            if :: ok -> intentPos[me] = t; intentCells[me] = pad + c; intentOwned[me] = false :: else -> skip fi
          }
          if
          :: ok ->
             atomic { if :: TAIL == t -> TAIL = t + pad + c; ok = true :: else -> ok = false fi };
             if :: ok -> break :: else -> skip fi
          :: else ->
             /* full: catch up ourselves, help a requester, advance head, fence the lagger (timed out) */
             tgt = TAIL;
             replayTo(tgt);
             if :: serve() :: else -> skip fi;
             advanceHead();
             d_step {
               owner = NONE; i = 0;
               do
               :: i < NR -> if :: i != me && holdsHead(STATE[i]) && LTAIL[i] == HEAD -> owner = i :: else -> skip fi; i++
               :: else -> break
               od;
               i = 0
             }
             if :: owner != NONE -> fence(owner) :: else -> skip fi;
             owner = NONE
          fi
       od;
       intentOwned[me] = true;
#ifdef SV_AFTER_CAS
       /* the expected seals read after the CAS: a writer stalled right here
        * reads a later lap's seal and takes the cell as its own */
       d_step { sv0 = seal[t % N]; sv1 = seal[(t + pad) % N] };
#endif
       sealed = true;
       if
       :: pad > 0 ->
#ifdef LATE_WRITE
          d_step { hdr[t % N] = PADF | pad; opid[t % N] = 0; gStart[t % N] = t };
#else
          d_step { if :: seal[t % N] == sv0 && sv0 != REPAIR(t) -> hdr[t % N] = PADF | pad; opid[t % N] = 0; gStart[t % N] = t :: else -> skip fi };
#endif
          sealOwn(t, sv0)
       :: else -> skip
       fi;
       p = t + pad;
       if
       :: sealed ->
#ifdef LATE_WRITE
          /* the copy as log.ts does it: plain stores, any of which a stall may delay */
          d_step { hdr[p % N] = c; opid[p % N] = o; gStart[p % N] = p };
          if
          :: c == 2 ->
             if :: hdr[(p + 1) % N] = GARBAGE :: hdr[(p + 1) % N] = 1 fi;
             d_step { opid[(p + 1) % N] = BOGUS; gStart[(p + 1) % N] = NONE }
          :: else -> skip
          fi;
#else
          /* Assumption A1 (docs/nr.md): the copy lands while our cells are
           * still ours (the cell's seal is the one we saw after reserving). */
          atomic {
            if
            :: seal[p % N] == sv1 && sv1 != REPAIR(p) ->
               hdr[p % N] = c; opid[p % N] = o; gStart[p % N] = p;
               if
               :: c == 2 ->
                  if :: hdr[(p + 1) % N] = GARBAGE :: hdr[(p + 1) % N] = 1 fi;
                  opid[(p + 1) % N] = BOGUS; gStart[(p + 1) % N] = NONE
               :: else -> skip
               fi
            :: else -> skip
            fi
          }
#endif
          sealOwn(p, sv1)
       :: else -> skip
       fi;
       intentCells[me] = 0;
       if
       :: !sealed ->
          gNever = gNever | bit(o)   /* FencedError{committed:false}: never applied anywhere */
       :: sealed ->
          tgt = p + c;
          replayTo(tgt);
          /* our replica applied it, or a snapshot that contains it replaced our state */
          assert(mask & bit(o));
progress_ack:
          gAcked = gAcked | bit(o)
       fi;
       d_step { t = 0; pad = 0; p = 0; c = 0; o = 0; sealed = false; sv0 = 0; sv1 = 0 }
    :: k == KOF(me) -> break
    od;
    /* a read: catch up to CTAIL; it holds every write acknowledged before it began */
    skip;
    d_step { tgt = CTAIL; acked = gAcked };
    replayTo(tgt);
    assert((acked & ~mask) == 0);
progress_read:
    acked = 0;
    /* idle: answer snapshot requests (a nudged event loop) */
end_idle:
    do
    :: serve()
    od
  } unless { killed == me };
end_dead:
  skip;
  goto end_dead2;
end_gaveUp:                         /* RecoveryError: no live replica to copy from */
#ifdef STRICT_RECOVERY
  /* only a stopped replica may leave another without a source of state
   * (fails: two replicas can fence each other; see docs/nr.md) */
  assert(killed != NONE);
#endif
  skip;
end_dead2:
  skip
}

init {
  byte i, nh;
  bool holder;
  d_step {
    i = 0;
    do
    :: i < N -> seal[i] = INIT(i); gStart[i] = NONE; i++
    :: else -> break
    od;
    i = 0;
    do
    :: i < MAXPOS -> gHashAt[i] = -1; i++
    :: else -> break
    od;
    i = 0;
    do
    :: i < NR -> STATE[i] = RESERVED;
#ifndef REPAIR0_BUG
       repairPos[i] = NONE;   /* no record (log.ts starts it at 0, a position) */
#endif
       i++
    :: else -> break
    od;
    i = 0
  }
  atomic {
    i = 0;
    do
    :: i < NR -> run Replica(i); i++
    :: else -> break
    od;
    i = 0
  }
  /* the killer: at any moment, stop one replica forever; its manager may declare it dead */
#ifndef NOKILL
#ifdef VICTIM
  if :: skip :: killed = VICTIM fi;  /* one chosen victim (run.sh checks each) */
#else
  if
  :: skip
  :: killed = 0
  :: killed = 1
#if NR > 2
  :: killed = 2
#endif
  fi;
#endif
  if
  :: killed != NONE -> atomic { STATE[killed] = DEAD }; advanceHead()
  :: skip
  fi
#endif
}
