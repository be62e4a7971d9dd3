/**
 * Slack's request signing (v0): X-Slack-Signature = v0=hex(HMAC-SHA256(secret, "v0:" + ts + ":" + body)).
 */
import { createHmac } from 'node:crypto';

export function slackSignature(signingSecret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}
