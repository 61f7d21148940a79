// Webhook signatures: `Tedi-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under the
// subscription's secret. The timestamp is inside the signed text so a receiver can refuse replays of an
// old body (verifyWebhookSignature's tolerance). Receivers verify with the same few lines (README).
import crypto from 'node:crypto';

export const SIGNATURE_HEADER = 'tedi-signature';

/** A receiver accepts a signature at most this old (or this far in the future): replays are refused. */
export const SIGNATURE_TOLERANCE_S = 300;

export function signWebhook(secret: string, body: string, timestampS: number): string {
  const mac = crypto.createHmac('sha256', secret).update(`${timestampS}.${body}`).digest('hex');
  return `t=${timestampS},v1=${mac}`;
}

/** True when `header` is a valid signature of `body` under `secret`, made within the tolerance of `nowS`. */
export function verifyWebhookSignature(
  secret: string,
  body: string,
  header: string | undefined,
  nowS = Math.floor(Date.now() / 1000),
): boolean {
  const parts = new Map((header ?? '').split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const given = parts.get('v1');
  if (!Number.isInteger(t) || !given || Math.abs(nowS - t) > SIGNATURE_TOLERANCE_S) return false;
  const expected = Buffer.from(signWebhook(secret, body, t).split('v1=')[1] ?? '', 'hex');
  const actual = Buffer.from(given, 'hex');
  return actual.length === expected.length && crypto.timingSafeEqual(actual, expected);
}

/** A new signing secret: 32 random bytes, base64url, recognisable by its prefix. */
export function newWebhookSecret(): string {
  return `whsec_${crypto.randomBytes(32).toString('base64url')}`;
}
