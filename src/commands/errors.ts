/**
 * UserError: something the person in the chat can fix or understand. Every front end shows
 * `message` as is (ephemeral on Discord, in-thread on Slack), so it must be friendly and complete.
 */
export type UserErrorCode =
  | 'bad_option'
  | 'bad_image'
  | 'image_too_large'
  | 'not_allowed'
  | 'blocked_prompt'
  | 'queue_full'
  | 'too_many_jobs'
  | 'cooldown'
  | 'busy'
  | 'host_down'
  /** The job store (SQLite or Redis) is not answering or cannot be written. */
  | 'store_down'
  | 'job_failed'
  | 'not_found'
  | 'forbidden'
  | 'expired'
  | 'preset_disabled';

export class UserError extends Error {
  constructor(
    readonly code: UserErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}
