/*
 * Client slot epochs (src/nr/context.ts, hub.ts, client.ts): a client hands
 * ops to a node through a request ring; the node may die at any step and a
 * new incarnation of it take its place. Checked by model/run.sh.
 *
 * The fixed protocol:
 * - the node's EPOCH counts its incarnations; a client (re)connecting to
 *   incarnation e writes RBASE := its TAIL (requests before it are dropped),
 *   then CEPOCH := e; incarnation e serves the ring only while CEPOCH == e,
 *   starting at RBASE, never at an older incarnation's DONE;
 * - a response slot carries its kind (OK, never equal to a request's kind)
 *   and the request's sequence number; the client accepts only that;
 * - a client whose node is gone fails its pending ops with NodeGoneError
 *   (outcome unknown: the old incarnation may have applied them) and may
 *   reconnect to the next incarnation.
 * NO_EPOCH puts back the bug of issue 11 items 2-3: the new incarnation
 * starts at DONE and serves whatever the ring holds; the client keeps its
 * cursors and trusts DONE alone.
 */
#define S 2             /* request slots */
#define OPS 3           /* ops the client issues */
#define REQ 1
#define OK 2
#define SERVING 1
#define GONE 2

byte NODE_STATE, EPOCH;
byte CEPOCH, RBASE, TAIL, DONE;
byte kind[S], seq[S], op[S];
bool gApplied[OPS + 1];    /* ghost: ops some incarnation applied */
byte gAppliedBy[OPS + 1];  /* ghost: the incarnation that applied it */
byte gSentIn[OPS + 1];     /* ghost: the incarnation the op was sent to */
bool dead1;                /* incarnation 1 stopped forever */

/* One incarnation e of the node: attach, serve, maybe be stopped forever. */
proctype Node(byte e) {
  byte served, i;
  {
    skip;
end_wait:                         /* a replacement waits for the slot to be free */
    atomic { (e == 1 || NODE_STATE == GONE) -> EPOCH = e; NODE_STATE = SERVING }
#ifdef NO_EPOCH
    served = DONE;
#endif
end_serve:
    do
#ifndef NO_EPOCH
    :: atomic { CEPOCH == e && served < RBASE -> served = RBASE }   /* a (re)connected client starts here */
    :: CEPOCH == e && served >= RBASE && served < TAIL ->
#else
    :: served < TAIL ->
#endif
       i = served % S;
       d_step {
         assert(kind[i] == REQ && seq[i] == served);
#ifndef NO_EPOCH
         assert(gSentIn[op[i]] == e);   /* never serve an older incarnation's request */
#endif
         gApplied[op[i]] = true; gAppliedBy[op[i]] = e
       };
       d_step { kind[i] = OK };         /* the response: status, same seq and op */
       served++;
       DONE = served
    od
  } unless { e == 1 && dead1 };
  /* stopped forever; the exit hook (or declareDead) marks the node gone */
  NODE_STATE = GONE
}

active proctype Client() {
  byte next = 1, consumed, mine, i, s, o;
  bool gone;
  atomic { NODE_STATE == SERVING -> mine = EPOCH };
  RBASE = TAIL; CEPOCH = mine;
  do
  :: next <= OPS ->
     /* send (one op in flight keeps the state space small) */
     i = TAIL % S;
     d_step { kind[i] = REQ; seq[i] = TAIL; op[i] = next; gSentIn[next] = mine };
     s = TAIL; o = next;
     TAIL = TAIL + 1; next++;
     gone = false;
     do
#ifndef NO_EPOCH
     :: DONE > s && kind[i] == OK && seq[i] == s -> break   /* our response */
#else
     :: DONE > consumed -> break                             /* trusts DONE alone */
#endif
     :: NODE_STATE == GONE || EPOCH != mine -> gone = true; break
     od;
     if
     :: !gone ->
        /* a response is delivered only for the op that was applied */
        assert(gApplied[o] && op[i] == o);
progress_answer:
        consumed = s + 1
     :: gone ->
        /* NodeGoneError, outcome unknown; reconnect to the next incarnation */
        atomic { NODE_STATE == SERVING && EPOCH != mine -> mine = EPOCH };
#ifndef NO_EPOCH
        consumed = TAIL; RBASE = TAIL; CEPOCH = mine
#endif
     fi
  :: else -> break
  od
}

init {
  atomic { run Node(1); run Node(2) }
  /* at any moment, stop incarnation 1 forever (or never) */
  if :: dead1 = true :: skip fi
}
