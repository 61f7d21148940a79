// Streamed JSON: a body that is one JSON object, read token by token as its bytes arrive (strict UTF-8,
// sources/kit/encoding.ts), never JSON.parse of the whole. A source says, path by path, which values to walk
// into, which to assemble whole (each small: one record, one envelope member) and which to skip; it gets each
// assembled value as soon as its last token has arrived, so a body of hundreds of MB is never held together.
//
//   arrayRecords  the items of one array member of the body (Comtrade and FAOSTAT `data`, Overpass
//                 `elements`, a tabular file's `jsonPath`), with small members around it kept (Overpass
//                 `osm3s` before the items, `remark` after them; Comtrade's `count` and `error`), or of a
//                 body that is the array (`at: []`, a tabular file of rows);
//   walkJson      the general walk, for bodies whose records are spread over paths (SDMX-JSON series).
//
// Numbers keep their text by default ("12.50", "1e21": no float rounding before the canonical decimal);
// `numbers: 'number'` gives JS numbers (coordinates, ids). A body that is not JSON, not an object, empty or
// cut off before its closing brace is an InvalidPayload naming it (its cause a JsonSyntaxError when the
// bytes are not well-formed JSON), never a silently shorter result; a failure of the bytes themselves (a
// dropped connection) passes through as the HTTP client typed it.
// stream-json's bare tokenizer is called as a plain function on each decoded chunk, not through its Node
// stream wrapper: pushing every token through an object-mode stream costs ~8x the parse itself.
import Assembler from 'stream-json/assembler.js';
import { jsonParser, type Token } from 'stream-json/parser.js';
import { invalidPayload } from '../../lib/failures';
import { type DecodeOptions, decodeText } from './encoding';

/** Where a value sits: member names and array indices from the root object, e.g. ["dataSets", 0, "series"]. */
export type JsonPath = ReadonlyArray<string | number>;
/** What the value at a path is, seen from its first token. */
export type JsonKind = 'object' | 'array' | 'scalar';
/** Walk into the value (an object or array; a scalar is handed over as if assembled), assemble it whole, or skip it. */
export type JsonAction = 'enter' | 'assemble' | 'skip';

export interface JsonVisitor<T> {
  /**
   * What to do with the value starting at `path` (never the root, which is always entered). `path` is the
   * walk's own array, valid during the call only: copy what you keep.
   */
  decide(path: JsonPath, kind: JsonKind): JsonAction;
  /** An assembled value; whatever is given to `emit` is yielded, in body order, before the walk reads on. */
  value(path: JsonPath, value: unknown, emit: (record: T) => void): void;
  /** An entered object or array has closed (the root: path []). */
  close?(path: JsonPath, emit: (record: T) => void): void;
}

/**
 * The cause of every failure of a body that is not well-formed JSON (not JSON, cut off, empty), so that a
 * caller can tell it from well-formed JSON of another shape (tabular files: "is not a readable JSON file").
 */
export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
}

export interface JsonReadOptions {
  /** Names the body in every failure, e.g. "Overpass tile 3/12"; "" leaves that to the caller. */
  where: string;
  /** What the body must be: an object (default), or an array (a file that is a list of rows). */
  root?: 'object' | 'array';
  /** The failure's reason for a body of another kind than `root` ("an object", "a JSON array", "a bare JSON value"). */
  wrongRoot?(is: string): string;
  /** How its bytes are text (encoding.ts); default strict UTF-8, as an API's JSON must be. A file passes its declared `encoding`. */
  text?: Omit<DecodeOptions, 'where'>;
  /** What the body should be, said when it is not an object, e.g. "the {count, data, error} object". */
  expected?: string;
  /** "text" (default) or JS numbers. */
  numbers?: 'text' | 'number';
  /** Said after a failure's reason, e.g. "(after 12 items of "elements")". */
  progress?(): string;
}

const DEPTH_CHANGE: Partial<Record<Token['name'], number>> = {
  startObject: 1,
  startArray: 1,
  endObject: -1,
  endArray: -1,
};

const kindOf = (token: Token): JsonKind =>
  token.name === 'startObject' ? 'object' : token.name === 'startArray' ? 'array' : 'scalar';

function failure(opts: JsonReadOptions, reason: string, syntax = false) {
  const message = `${opts.where ? `${opts.where}: ` : ''}${reason}${opts.progress ? ` ${opts.progress()}` : ''}`;
  return invalidPayload(message, syntax ? new JsonSyntaxError(reason) : undefined);
}

/** Per entered container: whether it is an array, its next index, the key of its current member. */
interface Frame {
  array: boolean;
  next: number;
  key: string;
}

/** The records `visitor` emits while the body streams (see the header for the failures). */
export async function* walkJson<T>(
  bytes: AsyncIterable<Buffer>,
  visitor: JsonVisitor<T>,
  opts: JsonReadOptions,
): AsyncGenerator<T> {
  const tokenize = jsonParser({ packValues: true, streamValues: false });
  const asm = new Assembler(opts.numbers === 'number' ? undefined : { numberAsString: true });
  const path: (string | number)[] = [];
  const frames: Frame[] = [];
  const out: T[] = [];
  const emit = (record: T) => {
    out.push(record);
  };
  let assembling = false;
  let skipDepth = 0;
  let started = false;
  let ended = false;

  /** The value at the end of `path` is done with (assembled or skipped). */
  const leave = () => {
    if (frames.length > 0) path.pop();
  };

  function* feed(text: string): Generator<T> {
    let tokens: Token[];
    try {
      const result = tokenize(text);
      if (typeof result === 'symbol') return;
      tokens = result.values;
    } catch (err) {
      throw failure(opts, `not valid JSON: ${(err as Error).message}`, true);
    }
    for (const token of tokens) {
      if (skipDepth > 0) {
        skipDepth += DEPTH_CHANGE[token.name] ?? 0;
        continue;
      }
      if (assembling) {
        asm.consume(token);
        if (!asm.done) continue;
        assembling = false;
        visitor.value(path, asm.current, emit);
        leave();
      } else if (token.name === 'keyValue') {
        const frame = frames[frames.length - 1];
        if (frame) frame.key = token.value;
        continue;
      } else if (token.name === 'endObject' || token.name === 'endArray') {
        visitor.close?.(path, emit);
        frames.pop();
        if (frames.length === 0) ended = true;
        else path.pop();
      } else {
        const frame = frames[frames.length - 1];
        const kind = kindOf(token);
        if (!frame) {
          const root = opts.root ?? 'object';
          if (kind !== root) {
            const is = kind === 'array' ? 'a JSON array' : kind === 'object' ? 'an object' : 'a bare JSON value';
            const expected = opts.expected ? `, expected ${opts.expected}` : '';
            throw failure(opts, opts.wrongRoot?.(is) ?? `the body is not a JSON ${root}: it is ${is}${expected}`);
          }
          started = true;
          frames.push({ array: kind === 'array', next: 0, key: '' });
          continue;
        }
        path.push(frame.array ? frame.next++ : frame.key);
        const action = visitor.decide(path, kind);
        if (action === 'enter' && kind !== 'scalar') {
          frames.push({ array: kind === 'array', next: 0, key: '' });
        } else if (action === 'skip') {
          if (kind !== 'scalar') skipDepth = 1;
          leave();
        } else {
          asm.consume(token);
          if (asm.done) {
            visitor.value(path, asm.current, emit);
            leave();
          } else assembling = true;
        }
      }
      if (out.length > 0) {
        for (let i = 0; i < out.length; i++) yield out[i] as T;
        out.length = 0;
      }
    }
  }

  for await (const text of decodeText(bytes, { ...(opts.text ?? { json: true }), where: opts.where })) {
    yield* feed(text);
  }
  yield* feed('');
  if (!started) throw failure(opts, 'the body is empty', true);
  if (!ended) {
    const closing = opts.root === 'array' ? 'bracket' : 'brace';
    throw failure(opts, `not valid JSON: the body ends before its closing ${closing} (truncated)`, true);
  }
}

export interface ArrayRecordsOptions extends Omit<JsonReadOptions, 'progress'> {
  /** Where the array is: member names from the root object, e.g. ["data"] or ["elements"]; [] for a body that is the array. */
  at: readonly string[];
  /** The failure's reason when the value at `at` (the body, for []) is not an array; default "<at> is <found>, expected an array". */
  notAnArray?(found: string): string;
  /** Which top-level members to assemble into `members` as they pass (each must be small); default none. */
  keep?(key: string, kind: JsonKind): boolean;
  /** Filled in with the kept members while the caller iterates (a member before the array is there at its first item). */
  members?: Record<string, unknown>;
  /** A body without the array (missing, or null) is an InvalidPayload; otherwise the return value says so. */
  required?: boolean;
}

export interface ArrayRecordsEnd {
  /** What the body held at `at`: an array, null, or nothing. */
  array: 'array' | 'null' | 'missing';
  /** How many items were yielded. */
  records: number;
}

/** The items of the array at `opts.at`, one at a time while the body streams; anything but an array (or null) there is an InvalidPayload. */
export async function* arrayRecords(
  bytes: AsyncIterable<Buffer>,
  opts: ArrayRecordsOptions,
): AsyncGenerator<unknown, ArrayRecordsEnd> {
  const { at } = opts;
  const name = at.join('.') || 'the body';
  const end: ArrayRecordsEnd = { array: 'missing', records: 0 };
  const notAnArray = (found: string) => opts.notAnArray?.(found) ?? `${name} is ${found}, expected an array`;
  const read: JsonReadOptions = {
    ...opts,
    progress: () => `(after ${end.records} items of "${name}")`,
    ...(at.length === 0 ? { root: 'array', wrongRoot: notAnArray } : {}),
  };
  /** How far `path` runs along `at`: its length when it is a prefix of `at` (or `at` plus an index), else -1. */
  const along = (path: JsonPath) => {
    const n = Math.min(path.length, at.length);
    for (let i = 0; i < n; i++) if (path[i] !== at[i]) return -1;
    return path.length;
  };
  const visitor: JsonVisitor<unknown> = {
    decide(path, kind) {
      const depth = along(path);
      if (depth === at.length + 1) return 'assemble'; // an item
      if (depth === at.length) {
        if (kind === 'object') throw failure(read, notAnArray('an object'));
        if (kind === 'array') end.array = 'array';
        return kind === 'array' ? 'enter' : 'assemble';
      }
      if (depth > 0 && depth < at.length) return kind === 'object' ? 'enter' : 'skip';
      return path.length === 1 && opts.keep?.(path[0] as string, kind) ? 'assemble' : 'skip';
    },
    value(path, value, emit) {
      if (path.length === at.length + 1) {
        end.records++;
        emit(value);
      } else if (path.length === at.length && along(path) === at.length) {
        if (value !== null) throw failure(read, notAnArray(JSON.stringify(value)));
        end.array = 'null';
      } else if (opts.members) opts.members[path[0] as string] = value;
    },
    close(path) {
      if (path.length === 0 && at.length === 0) end.array = 'array';
    },
  };
  yield* walkJson(bytes, visitor, read);
  if (opts.required && end.array !== 'array') throw failure(read, `the body has no "${name}" array`);
  return end;
}
