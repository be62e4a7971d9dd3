/**
 * The presenters of jobs this bot is showing. New jobs are started by the handlers; jobs recovered
 * after a restart (or finished while the bot was away) are adopted from the app's event stream using
 * the message references stored on the job.
 */
import type { JobEvent, JobRecord } from '../../jobs/types.ts';
import { JobPresenter, discordRefsOf, type DiscordRefs, type PresenterDeps } from './job-presenter.ts';

export class PresenterRegistry {
  private readonly active = new Map<string, { presenter: JobPresenter; unsubscribe: () => void }>();
  private readonly finished = new Set<string>();
  private stopped = false;

  constructor(private readonly deps: PresenterDeps) {}

  /** Show a new job in the reply described by `refs`. */
  async start(job: JobRecord, refs: DiscordRefs): Promise<JobPresenter> {
    const presenter = this.track(job, refs);
    await this.deps.easel.setPlatformRefs(job.id, { discord: refs });
    this.subscribe(presenter);
    return presenter;
  }

  /** From the app-wide event stream: pick up Discord jobs nobody here is showing yet. */
  adopt(e: JobEvent): void {
    const job = e.job;
    if (this.stopped || job.actor.platform !== 'discord' || this.active.has(job.id) || this.finished.has(job.id)) return;
    const refs = discordRefsOf(job);
    if (!refs || refs.delivered) return;
    this.deps.logger.info({ job: job.id, event: e.type }, 'discord: resuming a job started before a restart');
    const presenter = this.track(job, refs);
    this.subscribe(presenter);
  }

  get(jobId: string): JobPresenter | undefined {
    return this.active.get(jobId)?.presenter;
  }

  /** Resolves when every active presenter has shown its outcome. */
  async settled(): Promise<void> {
    await Promise.all([...this.active.values()].map((a) => a.presenter.finished));
  }

  async stopAll(): Promise<void> {
    this.stopped = true;
    const all = [...this.active.values()];
    this.active.clear();
    for (const a of all) a.unsubscribe();
    await Promise.all(all.map((a) => a.presenter.stop()));
  }

  private track(job: JobRecord, refs: DiscordRefs): JobPresenter {
    const presenter = new JobPresenter({ ...job, platformRefs: { ...job.platformRefs, discord: refs } }, refs, this.deps);
    this.active.set(job.id, { presenter, unsubscribe: () => undefined });
    void presenter.finished.then(() => {
      const entry = this.active.get(job.id);
      if (entry?.presenter === presenter) {
        entry.unsubscribe();
        this.active.delete(job.id);
      }
      this.finished.add(job.id);
      if (this.finished.size > 5000) this.finished.delete(this.finished.values().next().value as string);
    });
    return presenter;
  }

  private subscribe(presenter: JobPresenter): void {
    const entry = this.active.get(presenter.jobId);
    if (!entry || entry.presenter !== presenter) return;
    entry.unsubscribe = this.deps.easel.subscribe(presenter.jobId, (e) => {
      try {
        presenter.handle(e);
      } catch (err) {
        this.deps.logger.error({ job: presenter.jobId, err: String(err) }, 'discord: presenter failed');
      }
    });
  }
}
