/**
 * Every secret value in a configuration (tokens, passwords, auth header values, the Redis URL's
 * password): the logger scrubs them from every line it writes.
 */
import type { EaselConfig } from './types.ts';

export function configSecrets(config: EaselConfig): string[] {
  const out = new Set<string>();
  const add = (v: string | undefined) => {
    // Very short values would scrub ordinary words; real secrets are long.
    if (v && v.length >= 4) out.add(v);
  };
  add(config.discord.token);
  add(config.slack.botToken);
  add(config.slack.signingSecret);
  add(config.slack.appToken);
  add(config.playground.token);
  for (const host of config.hosts) {
    const auth = host.auth;
    if (!auth) continue;
    if (auth.kind === 'bearer') add(auth.token);
    if (auth.kind === 'basic') {
      add(auth.password);
      add(Buffer.from(`${auth.username}:${auth.password}`).toString('base64'));
    }
    if (auth.kind === 'header') add(auth.value);
  }
  if (config.store.redisUrl) {
    try {
      const u = new URL(config.store.redisUrl);
      if (u.password) {
        add(decodeURIComponent(u.password));
        add(u.password);
      }
    } catch {
      // validated at load; nothing to add
    }
  }
  return [...out];
}
