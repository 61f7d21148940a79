// Values are stored as exact decimal strings, spelled one way, so the same number always hashes the
// same whatever the source wrote (1e21, "007.50", 12.5 or "12.5").
import { z } from 'zod';

/** A number as sources write it: optional sign, digits, optional fraction, optional exponent. */
export const DECIMAL = /^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$/;

/** Rewrites exponent notation as plain digits ("1.5e3" → "1500"); other text is returned as it is. */
export function toPlainDecimal(text: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?[eE]([-+]?\d+)$/.exec(text);
  if (!match) return text;
  const [, sign = '', int = '', frac = '', exponent = '0'] = match;
  const digits = int + frac;
  const point = int.length + Number(exponent);
  let plain: string;
  if (point <= 0) plain = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) plain = digits + '0'.repeat(point - digits.length);
  else plain = `${digits.slice(0, point)}.${digits.slice(point)}`;
  plain = plain.replace(/^0+(?=\d)/, '');
  if (plain.includes('.')) plain = plain.replace(/\.?0+$/, '');
  return plain === '0' ? plain : sign + plain;
}

/** Plain decimal with trailing fractional zeros dropped and no negative zero. */
export function decimalText(text: string): string {
  const plain = toPlainDecimal(text);
  const trimmed = plain.includes('.') ? plain.replace(/\.?0+$/, '') : plain;
  return trimmed === '-0' ? '0' : trimmed;
}

/** A value cell: null or "" (no value published), a number, or a numeric string → decimal string or null. */
export function decimalValue(error: string) {
  return z.union(
    [
      z.null(),
      z.literal('').transform(() => null),
      z.number().transform((n) => toPlainDecimal(String(n))),
      z.string().trim().regex(DECIMAL).transform(toPlainDecimal),
    ],
    { error },
  );
}
