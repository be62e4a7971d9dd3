/**
 * Admission before work: every new submission is let in here BEFORE any of its bytes are downloaded,
 * decoded or written. A front end asks `admit({ command, actor })` as soon as it knows who wants what;
 * the answer is either a UserError it can show at once (command off here, queue full, too many jobs,
 * cooldown, busy) or a short-lived ticket. The ticket
 *  - holds a place in the queue (it counts against queueCap and perUserWaiting like a waiting job,
 *    so passing admission 500 times in parallel does not let 500 submissions through), and
 *  - holds an upload slot (limits.concurrentUploads, limits.perUserUploads), so only a few uploads
 *    are read at once however many arrive.
 * `submit({ ticket, ... })` consumes it; a ticket that is not used within TICKET_TTL_MS (or is
 * released) gives both back, and a cooldown it started is refunded since nothing was queued.
 */
import { randomUUID } from 'node:crypto';
import { checkCommandAllowed } from '../commands/admission.ts';
import { UserError } from '../commands/errors.ts';
import type { CommandName } from '../commands/types.ts';
import type { LimitsConfig, PolicyConfig } from '../config/types.ts';
import { IntakeSlots } from '../images/intake.ts';
import { actorKeys } from '../jobs/scheduler.ts';
import type { Actor } from '../jobs/types.ts';

/** How long a ticket waits for its submission (downloads time out well before this). */
export const TICKET_TTL_MS = 60_000;

export interface AdmitRequest {
  /** The command, when the front end knows it already (it always should, except a form not yet read). */
  command?: CommandName;
  /** Who asks, where, with which roles: the command policy reads channelId and roles. */
  actor: Actor;
}

export interface AdmissionTicket {
  readonly id: string;
  readonly command?: CommandName;
  readonly actor: Actor;
  readonly expiresAt: number;
  /** Aborted when the ticket expires: pass it to downloads and body reads so they stop too. */
  readonly signal: AbortSignal;
  /** Give the place and the upload slot back without submitting (the download failed, ...). Idempotent. */
  release(): void;
}

/** The queue side of a ticket (the job service's reserve/release). */
export interface QueueHolds {
  reserve(actor: Actor): string;
  release(hold: string, opts?: { refund?: boolean }): void;
}

/** A ticket being used by a submission: its queue hold, and `done` to call once the submission ended. */
export interface ClaimedTicket {
  hold: string;
  done(queued: boolean): void;
}

interface Live {
  hold: string;
  releaseSlot: () => void;
  timer: NodeJS.Timeout;
  abort: AbortController;
  ticket: AdmissionTicket;
  claimed: boolean;
}

export class AdmissionDesk {
  private readonly slots: IntakeSlots;
  private readonly live = new Map<string, Live>();

  constructor(
    private readonly deps: {
      policy: PolicyConfig;
      limits: Pick<LimitsConfig, 'concurrentUploads' | 'perUserUploads'>;
      queue: QueueHolds;
      ttlMs?: number;
      now?: () => number;
    },
  ) {
    this.slots = new IntakeSlots({ concurrent: deps.limits.concurrentUploads, perUser: deps.limits.perUserUploads });
  }

  /** Tickets issued and not yet consumed or released. */
  get outstanding(): number {
    return this.live.size;
  }

  admit(req: AdmitRequest): AdmissionTicket {
    if (req.command) checkCommandAllowed(req.command, req.actor, this.deps.policy);
    const hold = this.deps.queue.reserve(req.actor); // queue_full, too_many_jobs, cooldown
    const userKey = actorKeys(req.actor).userKey;
    const releaseSlot = this.slots.tryTake(userKey);
    if (!releaseSlot) {
      this.deps.queue.release(hold, { refund: true });
      throw new UserError('busy', 'Easel is busy receiving other images right now. Nothing was queued; please try again in a moment.');
    }
    const id = randomUUID();
    const ttl = this.deps.ttlMs ?? TICKET_TTL_MS;
    const abort = new AbortController();
    const ticket: AdmissionTicket = {
      id,
      command: req.command,
      actor: req.actor,
      expiresAt: (this.deps.now ?? Date.now)() + ttl,
      signal: abort.signal,
      // While a submission uses the ticket, it owns it (and ends it): release() is then a no-op.
      release: () => {
        if (this.live.get(id)?.claimed === false) this.end(id, false);
      },
    };
    const timer = setTimeout(() => this.expire(id), ttl);
    timer.unref();
    this.live.set(id, { hold, releaseSlot, timer, abort, ticket, claimed: false });
    return ticket;
  }

  /**
   * A submission starts using its ticket. Throws UserError('expired') when it timed out or was used
   * already; a ticket for another user or command is a programming error.
   */
  claim(ticket: AdmissionTicket, command: CommandName, actor: Actor): ClaimedTicket {
    const l = this.live.get(ticket.id);
    if (!l || l.claimed || l.ticket !== ticket) {
      throw new UserError('expired', 'Your request took too long to arrive and was not queued. Please try again.');
    }
    if (actorKeys(actor).userKey !== actorKeys(ticket.actor).userKey) throw new Error('admission ticket used for another user');
    if (ticket.command && ticket.command !== command) throw new Error(`admission ticket for /${ticket.command} used for /${command}`);
    l.claimed = true;
    clearTimeout(l.timer);
    return { hold: l.hold, done: (queued) => this.end(ticket.id, queued) };
  }

  /** Release every ticket (shutting down). */
  close(): void {
    for (const id of [...this.live.keys()]) this.end(id, false);
  }

  private expire(id: string): void {
    const l = this.live.get(id);
    if (!l || l.claimed) return;
    l.abort.abort(new UserError('expired', 'Your request took too long to arrive and was not queued. Please try again.'));
    this.end(id, false);
  }

  private end(id: string, queued: boolean): void {
    const l = this.live.get(id);
    if (!l) return;
    this.live.delete(id);
    clearTimeout(l.timer);
    l.releaseSlot();
    // Queued: the job took the held place. Otherwise give it back, cooldown included.
    if (!queued) this.deps.queue.release(l.hold, { refund: true });
  }
}
