/**
 * Serving a node's clients from its event loop: sleep on the doorbell,
 * and when a client rings, run commit rounds (each takes every client's
 * window into one batch) until no client has work, a bounded number per
 * turn so the node's own work is never starved.
 */
import { DetachedError, FailStopError } from '../errors.js';
import { LIMITS } from '../defaults.js';
import type { NodeHub } from './node-hub.js';
import { RecoveryError } from '../log/transfer.js';

/** What serving needs from its replica. */
export interface ServingHost {
  readonly detachedError: Error | null;
  /** One commit of everything pending (gathers the clients' windows). */
  commit(): void;
}

export class ClientServer {
  private scheduled = false;
  private armed = false;
  private stopped = false;

  constructor(
    private readonly hub: NodeHub,
    private readonly host: ServingHost,
  ) {}

  start(): void {
    this.armDoorbell();
  }

  stop(): void {
    this.stopped = true;
  }

  /** After every commit: publish answers (ctail already covers their entry), and go on if more came. */
  afterCommit(): void {
    this.hub.publish();
    if (this.hub.hasWork()) this.schedule();
  }

  /** Detaching: answer what clients already sent (bounded). */
  drainForDetach(): void {
    for (let round = 0; round < 64 && this.hub.hasWork(); round++) {
      this.hub.clearDoorbell();
      this.host.commit();
    }
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(this.serve);
  }

  private readonly serve = (): void => {
    this.scheduled = false;
    if (this.stopped || this.host.detachedError !== null) return;
    for (let round = 0; round < LIMITS.servingRoundsPerTurn; round++) {
      this.hub.clearDoorbell();
      if (!this.hub.hasWork()) {
        this.armDoorbell();
        return;
      }
      try {
        this.host.commit();
      } catch (e) {
        // Halted or lost: clients were told the node is gone.
        if (e instanceof FailStopError || e instanceof DetachedError) return;
        // No provider to recover from right now: try again shortly (clients' own bounds apply).
        if (e instanceof RecoveryError) {
          setTimeout(() => this.schedule(), 10);
          return;
        }
        throw e;
      }
    }
    this.schedule();
  };

  /** Sleep on the doorbell in the event loop; a client's ring wakes us without polling. */
  private armDoorbell(): void {
    if (this.stopped || this.armed) return;
    const res = this.hub.waitDoorbell();
    if (res.async) {
      this.armed = true;
      void res.value.then(this.onDoorbell);
    } else this.schedule();
  }

  private readonly onDoorbell = (): void => {
    this.armed = false;
    this.serve();
  };
}
