import { Collection } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { imageOfMessage } from '../../../../src/bot/discord/job-command-handlers.ts';

type Msg = Parameters<typeof imageOfMessage>[0];
const message = (attachments: Array<Record<string, unknown>>, embeds: Array<Record<string, unknown>>): Msg =>
  ({ attachments: new Collection(attachments.map((a, i) => [String(i), a])), embeds }) as unknown as Msg;

describe('imageOfMessage', () => {
  it('takes the first image attachment', () => {
    const m = message([{ name: 'notes.txt', url: 'https://cdn.discordapp.com/a/notes.txt', size: 3, contentType: 'text/plain' }, { name: 'p.png', url: 'https://cdn.discordapp.com/a/p.png', size: 9, contentType: 'image/png' }], []);
    expect(imageOfMessage(m)).toEqual({ name: 'p.png', url: 'https://cdn.discordapp.com/a/p.png', size: 9, contentType: 'image/png' });
  });

  it('reads an embedded image from Discord’s proxy (proxy_url), not from the outside host', () => {
    const m = message([], [{ image: { url: 'https://example.org/photos/cat%20one.jpg', proxyURL: 'https://images-ext-1.discordapp.net/external/abc/https/example.org/photos/cat%20one.jpg' } }]);
    expect(imageOfMessage(m)).toEqual({
      name: 'cat one.jpg',
      url: 'https://images-ext-1.discordapp.net/external/abc/https/example.org/photos/cat%20one.jpg',
      size: 0,
      contentType: null,
    });
  });

  it('uses a thumbnail when there is no image, and has nothing for a message without pictures', () => {
    const m = message([], [{ thumbnail: { url: 'https://cdn.discordapp.com/x/t.png', proxyURL: 'https://media.discordapp.net/x/t.png' } }]);
    expect(imageOfMessage(m)?.url).toBe('https://media.discordapp.net/x/t.png');
    expect(imageOfMessage(message([], [{ title: 'just text' }]))).toBeUndefined();
  });
});
