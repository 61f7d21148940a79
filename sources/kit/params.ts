// Params helpers. Every source's params schema is built from these, so every message names the field,
// says what a good value looks like, and reads the same for every source.
import { z } from 'zod';

export const noDuplicates = (values: readonly unknown[]) => new Set(values).size === values.length;

export interface CodeListRule {
  /** One good entry, quoted in every message, e.g. "AG.PRD.CROP.XD". */
  example: string;
  /** What the list holds, for "is required: give a list of …", e.g. "indicator codes". */
  of: string;
  /** What one entry must look like. */
  pattern: RegExp;
  /** Said when an entry does not match, e.g. 'a code is letters, digits and dots'. */
  hint: string;
  /** Codes are upper-cased, then checked, compared and sent (ISO country codes; "ag2" is "AG2"). */
  upperCase?: boolean;
  /** What one entry is called, with its article, in "lists … twice"; default "a code". */
  entry?: string;
  /** An empty list is allowed and means this, e.g. "every area" (the messages say so); by default one entry at least. */
  emptyMeans?: string;
}

/** A code list that may be left out, then `fallback` (e.g. the catalog's default country). */
export function codeListOr(field: string, rule: CodeListRule, fallback: string[]) {
  return codeList(field, rule).default(fallback);
}

/** A non-empty list of distinct codes (empty too, with `emptyMeans`). */
export function codeList(field: string, rule: CodeListRule) {
  const text = z.string({ error: `${field}: every entry must be a string such as "${rule.example}"` }).trim();
  const entry = (rule.upperCase ? text.toUpperCase() : text).regex(rule.pattern, `${field}: ${rule.hint}`);
  const empty = rule.emptyMeans ? `; [] means ${rule.emptyMeans}` : '';
  const list = z.array(entry, {
    error: `${field} is required: give a list of ${rule.of}, e.g. ["${rule.example}"]${empty}`,
  });
  return (
    rule.emptyMeans ? list : list.min(1, `${field} is empty: list at least one, e.g. ["${rule.example}"]`)
  ).refine(noDuplicates, `${field} lists ${rule.entry ?? 'a code'} twice: remove the duplicate`);
}

export interface BoundedIntOptions {
  /** What the number counts, written after each number in the messages, e.g. "km". */
  unit?: string;
}

/** A whole number within bounds, e.g. a page size. */
export function boundedInt(field: string, min: number, max: number, fallback: number, opts: BoundedIntOptions = {}) {
  const u = opts.unit ? ` ${opts.unit}` : '';
  return z
    .number({ error: `${field} must be a number, e.g. ${fallback}${u}` })
    .int(`${field} must be a whole number, e.g. ${fallback}${u}`)
    .min(min, `${field} must be at least ${min}${u} (default ${fallback}${u})`)
    .max(max, `${field} must be at most ${max}${u} (default ${fallback}${u})`)
    .default(fallback);
}

/**
 * A source's params object: unknown keys are refused by name ("unknown parameter x: the World Bank
 * connector takes indicators, countries"), and anything not an object says what one looks like.
 */
export function sourceParams<S extends z.ZodRawShape>(title: string, example: string, shape: S) {
  const names = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown parameter ${issue.keys.join(', ')}: the ${title} connector takes ${names}`
        : `params must be an object with ${names}, e.g. ${example}`,
  });
}
