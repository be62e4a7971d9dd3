/** The one redaction for host-originated text (issue 10 finding 4). */
import { describe, expect, it } from 'vitest';
import { secretsOf } from '../../../src/comfy/auth-headers.ts';
import { hostRedactor, redactPatterns } from '../../../src/comfy/redact.ts';

describe('hostRedactor', () => {
  const token = 'tok-8c1f2e9a77';
  const redact = hostRedactor(secretsOf({ url: 'http://gpu:8188', auth: { kind: 'bearer', token } }));

  it('removes the configured secret wherever it appears, raw and URL-encoded', () => {
    expect(redact(`bad token ${token} here`)).toBe('bad token *** here');
    const odd = hostRedactor(['p@ss/w0rd+']);
    expect(odd('url?pw=p%40ss%2Fw0rd%2B end')).toBe('url?pw=*** end');
  });

  it('removes Authorization / Cookie / API-key header echoes in plain text, JSON and Python reprs', () => {
    expect(redactPatterns('Authorization: Bearer abc.def-123\nHost: x')).toBe('Authorization: ***\nHost: x');
    expect(redactPatterns('{"authorization": "Basic dXNlcjpwYXNz", "host": "x"}')).toBe('{"authorization": "***", "host": "x"}');
    expect(redactPatterns("{'Cookie': 'session=abc; theme=dark', 'Host': 'x'}")).toBe("{'Cookie': '***', 'Host': 'x'}");
    expect(redactPatterns('{"detail": "{\\"X-Api-Key\\": \\"k-12345\\"}"}')).toBe('{"detail": "{\\"X-Api-Key\\": \\"***\\"}"}');
    const custom = hostRedactor([], ['X-Comfy-Key']);
    expect(custom("headers {'X-Comfy-Key': 'whatever'}")).toBe("headers {'X-Comfy-Key': '***'}");
  });

  it('removes bearer/basic credentials, credentials in URLs and token query parameters', () => {
    expect(redactPatterns('proxy said: Bearer eyJhbGciOi.J9.xyz rejected')).toBe('proxy said: Bearer *** rejected');
    expect(redactPatterns('sent Basic dXNlcjpwYXNzd29yZA== upstream')).toBe('sent Basic *** upstream');
    expect(redactPatterns('fetch https://bob:hunter2@models.example/x failed')).toBe('fetch https://***@models.example/x failed');
    expect(redactPatterns('GET /file?name=a&token=s3cr3t&x=1')).toBe('GET /file?name=a&token=***&x=1');
  });

  it('keeps ordinary error text intact', () => {
    const text =
      'Token indices sequence length is longer than the specified maximum; Basic auth is not configured; ' +
      'KSampler (node 3) input "denoise": 1.5 is above the maximum 1.0';
    expect(redactPatterns(text)).toBe(text);
  });

  it('keeps JSON parseable', () => {
    const body = JSON.stringify({ error: { message: `echo {'Authorization': 'Bearer ${token}'}`, extra_info: { headers: { authorization: `Bearer ${token}` } } } });
    const parsed = JSON.parse(redact(body));
    expect(parsed.error.message).toBe("echo {'Authorization': '***'}");
    expect(parsed.error.extra_info.headers.authorization).toBe('***');
  });
});
