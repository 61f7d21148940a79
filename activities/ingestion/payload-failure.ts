// Parser errors are facts about the body, not about the network: a body that csv-parse, the zip reader,
// zlib or a JSON parser cannot read will not read better on the fifth attempt. Every such error that
// escapes a connector untyped becomes InvalidPayload here, once for all connectors.
import { ApplicationFailure } from '@temporalio/common';
import { CsvError } from 'csv-parse';
import { invalidPayload } from '../../lib/failures';

/** Messages of parser errors that carry no code (yauzl, stream-json, exceljs). */
const PARSER_MESSAGE =
  /Parser cannot parse|central directory|local file header|invalid (zip|signature|comment|relative offset|code lengths)|unexpected end of (data|file|input)|Unexpected token|is not valid JSON|Can't find end of central directory|corrupted zip/i;

export function isParserError(err: unknown): boolean {
  if (!(err instanceof Error) || err instanceof ApplicationFailure) return false;
  if (err instanceof CsvError) return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (code.startsWith('Z_') || code === 'ERR_INVALID_ZIP')) return true;
  return err instanceof SyntaxError || PARSER_MESSAGE.test(err.message);
}

/** Rethrows an untyped parser error as InvalidPayload naming the source; any other error unchanged. */
export function asPayloadFailure(err: unknown, sourceName: string): unknown {
  if (!isParserError(err)) return err;
  const e = err as Error & { code?: string };
  return invalidPayload(
    `${sourceName}: the body could not be parsed (${e.code ?? e.name}: ${e.message.slice(0, 300)}). ` +
      'The source changed its format or sent a broken body; retrying would not help.',
  );
}
