/**
 * Discord error codes the bot reacts to, and the predicates that sort them: "the message is gone",
 * "the interaction token is dead", "we may not write here".
 */
import { DiscordAPIError } from 'discord.js';

export const DiscordCode = {
  UnknownChannel: 10003,
  UnknownMessage: 10008,
  UnknownWebhook: 10015,
  UnknownInteraction: 10062,
  CannotSendEmptyMessage: 50006,
  MissingAccess: 50001,
  CannotEditOtherUsersMessage: 50005,
  CannotSendMessagesToUser: 50007,
  MissingPermissions: 50013,
  InvalidWebhookToken: 50027,
  InvalidFormBody: 50035,
  RequestEntityTooLarge: 40005,
  InteractionAlreadyAcknowledged: 40060,
} as const;

export function discordCode(err: unknown): number | undefined {
  if (err instanceof DiscordAPIError) return typeof err.code === 'number' ? err.code : Number(err.code);
  return undefined;
}

/** The message being edited was deleted. */
export function isMessageGone(err: unknown): boolean {
  return discordCode(err) === DiscordCode.UnknownMessage;
}

/** The interaction token can no longer be used (15 minutes passed, or Discord voided it). */
export function isTokenDead(err: unknown): boolean {
  const c = discordCode(err);
  return c === DiscordCode.InvalidWebhookToken || c === DiscordCode.UnknownWebhook || c === DiscordCode.UnknownInteraction;
}

/** The bot may not post or edit there. */
export function isNoAccess(err: unknown): boolean {
  const c = discordCode(err);
  return (
    c === DiscordCode.MissingAccess ||
    c === DiscordCode.MissingPermissions ||
    c === DiscordCode.UnknownChannel ||
    c === DiscordCode.CannotEditOtherUsersMessage ||
    c === DiscordCode.CannotSendMessagesToUser
  );
}

export function isTooLarge(err: unknown): boolean {
  return discordCode(err) === DiscordCode.RequestEntityTooLarge || (err instanceof DiscordAPIError && err.status === 413);
}
