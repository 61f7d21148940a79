// Values are stored as exact decimal strings, spelled one way, so the same number always hashes the
// same whatever the source wrote (1e21, "007.50", 12.5 or "12.5"). Every connector goes through
// `canonicalDecimal` (or the `decimalValue` zod schema built on it); there is no other number formatter.
//
// The canonical form:
//   - plain notation, never an exponent:            "1e21" → "1000000000000000000000", "2.5E-3" → "0.0025"
//   - no leading zeros, no trailing fractional zeros: "007.5" → "7.5", "12.50" → "12.5", "0.000000" → "0"
//   - one zero before the point of a fraction:       ".5" → "0.5"; "5." → "5"
//   - no sign on zero, no "+":                      "-0.0" → "0", "+3" → "3"
//   - JS numbers are first written with String(n) (the shortest text that reads back as the same double,
//     so 0.1 stays "0.1", never "0.1000000000000000055..."), then follow the same rule; NaN and ±Infinity
//     are no numbers.
// Bound: the canonical form has at most MAX_DECIMAL_DIGITS (1000) digits, counting every digit written
// (integer and fraction, the "0" of "0.x" included; sign and point not counted). "1e999" (1000 digits)
// passes, "1e1000" (1001 digits) does not, and neither does "1e999999999": the length is computed from the
// exponent before any string is built, so an absurd exponent never throws a RangeError or allocates a giant
// string. Every finite JS number fits (the largest double has 309 digits, the smallest 325), and so does
// PostgreSQL's DECIMAL column. A value beyond the bound is a bad row: RowRejected, with the reason.
import { z } from 'zod';
import { RowRejected } from './types';

/** The most digits a canonical value may have (see the header). */
export const MAX_DECIMAL_DIGITS = 1000;

/** A number as sources write it: optional sign, digits with an optional fraction (".5" and "5." too), optional exponent. */
const NUMBER_TEXT = /^([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/;

export type DecimalResult = { value: string } | { reason: string };

const shown = (input: string | number) =>
  typeof input === 'string' ? JSON.stringify(input.slice(0, 40)) : String(input);

/** The canonical spelling of a number, or why there is none (not a number, or beyond the bound). */
export function parseDecimal(input: string | number): DecimalResult {
  if (typeof input === 'number' && !Number.isFinite(input)) return { reason: `${input} is not a finite number` };
  const text = typeof input === 'number' ? String(input) : input.trim();
  const match = NUMBER_TEXT.exec(text);
  const [, sign = '', int = '', frac = '', exponent = '0'] = match ?? [];
  if (!match || int.length + frac.length === 0) return { reason: `expected a number, got ${shown(input)}` };
  let digits = int + frac;
  // The number is 0.<digits> × 10^point; a huge exponent makes point huge (or Infinity), never an error.
  let point = int.length + Number(exponent);
  const leading = /^0*/.exec(digits)?.[0].length ?? 0;
  digits = digits.slice(leading).replace(/0+$/, '');
  if (digits === '') return { value: '0' };
  point -= leading;
  // Digits written: the integer part (or its single "0") plus the fraction.
  const count = point >= digits.length ? point : point > 0 ? digits.length : 1 - point + digits.length;
  if (!(count <= MAX_DECIMAL_DIGITS)) {
    const size = Number.isFinite(count) && count < 1e15 ? `${count} digits` : 'an astronomical number of digits';
    return { reason: `${shown(input)} is out of range: written out it has ${size}, more than ${MAX_DECIMAL_DIGITS}` };
  }
  let plain: string;
  if (point >= digits.length) plain = digits + '0'.repeat(point - digits.length);
  else if (point > 0) plain = `${digits.slice(0, point)}.${digits.slice(point)}`;
  else plain = `0.${'0'.repeat(-point)}${digits}`;
  return { value: sign === '-' ? `-${plain}` : plain };
}

/** The canonical spelling of a number (see the header); a bad or out-of-range number is a RowRejected. */
export function canonicalDecimal(input: string | number): string {
  const result = parseDecimal(input);
  if ('reason' in result) throw new RowRejected(result.reason);
  return result.value;
}

/**
 * A value cell: null or "" (no value published), a number, or a numeric string → canonical decimal string
 * or null. `error` is the message for a cell of the wrong kind; a number beyond the bound says so instead.
 */
export function decimalValue(error: string) {
  return z.unknown().transform((input, ctx): string | null => {
    if (input === null || (typeof input === 'string' && input.trim() === '')) return null;
    if (typeof input === 'number' || typeof input === 'string') {
      const result = parseDecimal(input);
      if ('value' in result) return result.value;
      if (!result.reason.startsWith('expected')) {
        ctx.addIssue({ code: 'custom', input, message: result.reason });
        return z.NEVER;
      }
    }
    ctx.addIssue({ code: 'custom', input, message: error });
    return z.NEVER;
  });
}
