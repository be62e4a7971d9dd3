/** Is this listen address reachable only from this machine? (127.0.0.0/8, ::1, localhost) */
import { isIP } from 'node:net';

export function isLoopbackAddress(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return h === '::1' || h === '0:0:0:0:0:0:0:1';
}
