// One rule for the text encoding of a file, applied while it streams (files are never held whole):
//   1. a byte-order mark decides: EF BB BF → UTF-8, FF FE → UTF-16LE, FE FF → UTF-16BE (the mark is dropped);
//   2. otherwise the bytes are read as UTF-8, strictly: a BOM-less UTF-8 file is UTF-8 (FAOSTAT's bulk CSVs
//      are), whatever an override says, because a latin1 or windows-1252 text with accented letters is
//      practically never valid UTF-8;
//   3. bytes that are not UTF-8 take the explicit override of the connector or of the source's params
//      (`encoding: "latin1" | "windows-1252"`), provided that everything before them was plain ASCII,
//      which reads the same in all three encodings, so nothing already decoded changes meaning;
//   4. anything else fails loudly, as InvalidPayload naming the byte offset of the first invalid sequence:
//      invalid bytes never become labels ("CÃ´te d'Ivoire", "C\uFFFDte d'Ivoire").
// A file mixing encodings (valid UTF-8 accents, then a latin1 byte) fails even with an override.
import { z } from 'zod';
import { invalidPayload } from '../../lib/failures';

/** Encodings an operator may name for files that are not UTF-8 (utf-8 itself: the default, strict). */
export const TEXT_ENCODINGS = ['utf-8', 'latin1', 'windows-1252'] as const;
export type TextEncoding = (typeof TEXT_ENCODINGS)[number];

/** The names operators tend to write, for the params schemas: utf8, ISO-8859-1, cp1252… */
export const ENCODING_ALIASES: Record<string, TextEncoding> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  latin1: 'latin1',
  'latin-1': 'latin1',
  'iso-8859-1': 'latin1',
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
};

/** The `encoding` param of a source (tabular files, FAOSTAT bulk…): an alias above, case-insensitive. */
export const EncodingParam = z
  .string({ error: 'encoding must be a string such as "latin1"' })
  .trim()
  .toLowerCase()
  .refine(
    (e) => e in ENCODING_ALIASES,
    `encoding must be one of ${TEXT_ENCODINGS.join(', ')} (for files that are not UTF-8; UTF-8 and files with a byte-order mark are detected)`,
  )
  .transform((e) => ENCODING_ALIASES[e] as TextEncoding);

export interface DecodeOptions {
  /** What the file is said to be when it is not UTF-8; 'utf-8' or absent: no fallback. */
  encoding?: TextEncoding;
  /** Names the file in failures, e.g. "FAOSTAT bulk QCL.zip entry.csv". */
  where?: string;
  /** Text that can only be UTF-8 (JSON from an API, RFC 8259): the failure says so instead of suggesting the param. */
  json?: boolean;
}

/** The offset of the first byte of the first invalid UTF-8 sequence in `bytes`, or -1; an incomplete end is fine. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min = 0x80;
    let max = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) min = 0xa0; // no overlong forms
      if (b === 0xed) max = 0x9f; // no surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) min = 0x90;
      if (b === 0xf4) max = 0x8f; // nothing above U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return -1; // cut by the end of the buffer: the next chunk decides
      const c = bytes[i + k]!;
      if (k === 1 ? c < min || c > max : c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** The trailing bytes of a UTF-8 buffer that start a sequence the buffer does not complete. */
function incompleteTail(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const b = bytes[bytes.length - back]!;
    if (b < 0x80) return 0;
    if (b >= 0xc0) {
      const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return length > back ? back : 0;
    }
  }
  return 0;
}

const hex = (b: number | undefined) => (b === undefined ? 'end' : `0x${b.toString(16).toUpperCase().padStart(2, '0')}`);

function singleByteDecoder(encoding: Exclude<TextEncoding, 'utf-8'>): (chunk: Buffer) => string {
  if (encoding === 'latin1') return (chunk) => chunk.toString('latin1');
  const decoder = new TextDecoder('windows-1252');
  return (chunk) => decoder.decode(chunk, { stream: true });
}

/** First chunks until `n` bytes are there (or the stream ends), to read a byte-order mark. */
async function head(it: AsyncIterator<Buffer>, n: number): Promise<{ bytes: Buffer; done: boolean }> {
  const parts: Buffer[] = [];
  let size = 0;
  while (size < n) {
    const next = await it.next();
    if (next.done) return { bytes: Buffer.concat(parts), done: true };
    parts.push(next.value);
    size += next.value.length;
  }
  return { bytes: Buffer.concat(parts), done: false };
}

/** Text chunks of a byte stream, decoded by the rule in the header. */
export async function* decodeText(bytes: AsyncIterable<Buffer>, options: DecodeOptions = {}): AsyncGenerator<string> {
  const where = options.where ? `${options.where}: ` : '';
  const override = options.encoding && options.encoding !== 'utf-8' ? options.encoding : undefined;
  const it = bytes[Symbol.asyncIterator]();
  try {
    const first = await head(it, 3);
    async function* rest(): AsyncGenerator<Buffer> {
      if (first.bytes.length > 0) yield first.bytes;
      if (first.done) return;
      while (true) {
        const next = await it.next();
        if (next.done) return;
        yield next.value;
      }
    }
    const b = first.bytes;
    const utf16 = b[0] === 0xff && b[1] === 0xfe ? 'utf-16le' : b[0] === 0xfe && b[1] === 0xff ? 'utf-16be' : null;
    if (utf16) {
      const decoder = new TextDecoder(utf16, { fatal: true, ignoreBOM: false });
      let offset = 0;
      try {
        for await (const chunk of rest()) {
          yield decoder.decode(chunk, { stream: true });
          offset += chunk.length;
        }
        yield decoder.decode();
      } catch {
        throw invalidPayload(
          `${where}not valid ${utf16.toUpperCase()} (its byte-order mark says so) near byte ${offset}`,
        );
      }
      return;
    }

    const bom = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
    const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
    /** Bytes fully decoded so far, and characters they gave: equal while the text is plain ASCII (no BOM). */
    let decoded = 0;
    let chars = 0;
    let pending = Buffer.alloc(0);
    let fallback: ((chunk: Buffer) => string) | null = null;
    for await (const chunk of rest()) {
      if (fallback) {
        yield fallback(chunk);
        continue;
      }
      let text: string;
      try {
        text = utf8.decode(chunk, { stream: true });
      } catch {
        // Where exactly: from the start of the sequence the previous chunk left open.
        const joined = Buffer.concat([pending, chunk]);
        const at = firstInvalidUtf8(joined);
        const offset = decoded + Math.max(at, 0);
        // Plain ASCII up to the invalid sequence (which may start in the bytes the decoder held back).
        const ascii = chars === decoded && joined.subarray(0, Math.max(at, 0)).every((x) => x < 0x80);
        if (override && ascii && !bom) {
          // Everything before was ASCII: the file, from here on, is read in the declared encoding.
          fallback = singleByteDecoder(override);
          yield fallback(joined);
          continue;
        }
        const bad = `${hex(joined[at])}${joined[at + 1] === undefined ? '' : ` ${hex(joined[at + 1])}`}`;
        throw invalidPayload(
          bom
            ? `${where}not valid UTF-8 at byte ${offset} (${bad}), although it starts with a UTF-8 byte-order mark`
            : override
              ? `${where}mixes encodings: valid UTF-8 with non-ASCII text before byte ${offset}, then bytes (${bad}) that are not UTF-8; ` +
                `it cannot be read as ${override} either. Re-export the file in one encoding (UTF-8).`
              : options.json
                ? `${where}not valid UTF-8 at byte ${offset} (${bad}): a JSON body must be UTF-8, so this one is damaged`
                : `${where}not valid UTF-8 at byte ${offset} (${bad}). If the file is latin1 or windows-1252, ` +
                  'set the encoding parameter ("encoding": "latin1" or "windows-1252"); otherwise the file is damaged.',
        );
      }
      // Track the open sequence the decoder holds (at most 3 bytes), for an exact offset later.
      const tailSource = chunk.length >= 4 ? chunk.subarray(-4) : Buffer.concat([pending, chunk]).subarray(-4);
      const open = incompleteTail(tailSource);
      decoded += pending.length + chunk.length - open;
      pending = Buffer.from(tailSource.subarray(tailSource.length - open));
      chars += text.length;
      if (text) yield text;
    }
    if (fallback) return;
    try {
      const last = utf8.decode();
      if (last) yield last;
    } catch {
      throw invalidPayload(
        `${where}not valid UTF-8: the file ends inside a multi-byte sequence at byte ${decoded} (truncated file?)`,
      );
    }
  } finally {
    await it.return?.();
  }
}
