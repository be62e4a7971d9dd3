/**
 * Job events and control messages between instances, over Redis pub/sub.
 *
 * Events: the instance running a job delivers each JobEvent to its own listeners at once (even with
 * Redis away) and publishes it; every other instance receives it, in publish order, so progress,
 * previews and results reach whichever instance shows the job.
 * Control: requests for the instance running a job (cancel it, merge platform refs into its record).
 * Pub/sub keeps no history: an instance that is down misses events, which is why results are also
 * in the job store (subscribe() replays from there).
 */
import type { Redis } from 'ioredis';
import type { JobEvent } from '../types.ts';

export type ControlMessage = { op: 'cancel'; jobId: string } | { op: 'refs'; jobId: string; refs: Record<string, unknown> };

interface WireEvent {
  /** The instance that published it (it has already delivered it to its own listeners). */
  from: string;
  e: Omit<JobEvent, 'preview'> & { preview?: { image: string; mime: string } };
}

export function encodeEvent(e: JobEvent, from: string): string {
  if (e.type === 'running' && e.preview) {
    return JSON.stringify({ from, e: { ...e, preview: { image: e.preview.image.toString('base64'), mime: e.preview.mime } } });
  }
  return JSON.stringify({ from, e });
}

export function decodeEvent(text: string): { from: string; e: JobEvent } {
  const { from, e } = JSON.parse(text) as WireEvent;
  if (e.type === 'running' && e.preview) {
    return { from, e: { ...e, preview: { image: Buffer.from(e.preview.image, 'base64'), mime: e.preview.mime } } as JobEvent };
  }
  return { from, e: e as JobEvent };
}

export class EventBus {
  private readonly eventsChannel: string;
  private readonly controlChannel: string;

  /** `sub` must be a connection of its own: once subscribed it can do nothing else. */
  constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    ns: string,
    private readonly instanceId: string,
  ) {
    this.eventsChannel = `${ns}:events`;
    this.controlChannel = `${ns}:control`;
  }

  async start(handlers: { event(e: JobEvent): void; control(m: ControlMessage): void }): Promise<void> {
    this.sub.on('message', (channel: string, text: string) => {
      try {
        if (channel === this.eventsChannel) {
          const { from, e } = decodeEvent(text);
          if (from !== this.instanceId) handlers.event(e);
        }
        else if (channel === this.controlChannel) handlers.control(JSON.parse(text) as ControlMessage);
      } catch {
        /* a malformed message must not break the others */
      }
    });
    await this.sub.subscribe(this.eventsChannel, this.controlChannel);
  }

  publish(e: JobEvent): Promise<unknown> {
    return this.pub.publish(this.eventsChannel, encodeEvent(e, this.instanceId));
  }

  control(m: ControlMessage): Promise<unknown> {
    return this.pub.publish(this.controlChannel, JSON.stringify(m));
  }
}
