// Reads one JSON object as its bytes arrive and hands out the items of one array member one at a time,
// while keeping the small members around it. An Overpass body for a country runs to hundreds of MB: its
// `elements` must never be held together, yet `osm3s` (before them) and `remark` (after them) matter.
//
// stream-json's bare tokenizer is called as a plain function on each decoded chunk, not through its Node
// stream wrapper: pushing every token through an object-mode stream costs ~8x the parse itself.
import Assembler from 'stream-json/assembler.js';
import { jsonParser, type Token } from 'stream-json/parser.js';
import { invalidPayload } from '../../../lib/failures';
import { decodeText } from '../../kit/encoding';

export interface ObjectStreamOptions {
  /** The member whose array items are yielded one by one, e.g. "elements". */
  arrayKey: string;
  /** Other members to assemble into `members` as they pass (each must be small); the rest are skipped. */
  keep: readonly string[];
  /** Members seen so far, filled in while the caller iterates (e.g. `osm3s` before the first item). */
  members: Record<string, unknown>;
  /** Names the body in error messages, e.g. "Overpass tile 3/12". */
  label: string;
}

const DEPTH_CHANGE: Partial<Record<Token['name'], number>> = {
  startObject: 1,
  startArray: 1,
  endObject: -1,
  endArray: -1,
};

/**
 * Yields the items of `body[arrayKey]` for a body that is one JSON object. A body that is not JSON, not an
 * object, or ends before its closing brace (truncated) is an InvalidPayload: a parser error or a missing
 * end, never a silently shorter result.
 */
export async function* streamArrayMember(
  bytes: AsyncIterable<Buffer>,
  opts: ObjectStreamOptions,
): AsyncGenerator<unknown> {
  const tokenize = jsonParser({ packValues: true, streamValues: false });
  const keep = new Set(opts.keep);
  const item = new Assembler();
  let items = 0;
  let opened = false;
  let closed = false;
  let inArray = false;
  let sawArray = false;
  let key: string | undefined;
  let member: { key: string; asm: Assembler } | undefined;
  let skipDepth = 0;

  const fail = (reason: string) => invalidPayload(`${opts.label}: ${reason} (after ${items} ${opts.arrayKey})`);

  function* consume(text: string): Generator<unknown> {
    let tokens: Token[];
    try {
      const out = tokenize(text);
      if (typeof out === 'symbol') return;
      tokens = out.values;
    } catch (err) {
      throw fail(`not valid JSON: ${(err as Error).message}`);
    }
    for (const token of tokens) {
      if (skipDepth > 0) {
        skipDepth += DEPTH_CHANGE[token.name] ?? 0;
      } else if (inArray) {
        // Between items the assembler is `done`; an endArray there closes the member itself.
        if (item.done && token.name === 'endArray') {
          inArray = false;
          continue;
        }
        item.consume(token);
        if (item.done) {
          items++;
          yield item.current;
        }
      } else if (member) {
        member.asm.consume(token);
        if (member.asm.done) {
          opts.members[member.key] = member.asm.current;
          member = undefined;
        }
      } else if (!opened) {
        if (token.name !== 'startObject') throw fail('the body is not a JSON object');
        opened = true;
      } else if (token.name === 'keyValue') {
        key = token.value;
      } else if (token.name === 'endObject') {
        closed = true;
      } else if (key === opts.arrayKey) {
        if (token.name !== 'startArray') throw fail(`"${opts.arrayKey}" is not an array`);
        inArray = true;
        sawArray = true;
      } else if (key !== undefined && keep.has(key)) {
        const asm = new Assembler();
        asm.consume(token);
        if (asm.done) opts.members[key] = asm.current;
        else member = { key, asm };
      } else {
        skipDepth = DEPTH_CHANGE[token.name] ?? 0;
      }
    }
  }

  // Strict UTF-8 (sources/kit/encoding.ts): invalid bytes fail with their offset instead of becoming U+FFFD in tags.
  for await (const text of decodeText(bytes, { where: opts.label, json: true })) yield* consume(text);
  yield* consume('');
  if (!opened) throw fail('the body is empty');
  if (!closed) throw fail('the body ends before its closing brace (truncated)');
  if (!sawArray) throw fail(`no "${opts.arrayKey}" array`);
}
