// The one canonical spelling of a value (sources/kit/decimal.ts), which every connector uses.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { canonicalDecimal, decimalValue, MAX_DECIMAL_DIGITS, parseDecimal } from '../../sources/kit/decimal';
import { RowRejected } from '../../sources/kit/types';
import { transformComtradeRecord } from '../../sources/specs/comtrade';
import { FaostatParamsSchema, transformFaostatRecord } from '../../sources/specs/faostat';
import { transformIlostatRow } from '../../sources/specs/ilostat';
import { transformNdviRecord } from '../../sources/specs/modis-ndvi';
import { type TabularParams, TabularParamsSchema, transformTabularRecord } from '../../sources/specs/tabular';
import { transformUnidoRecord } from '../../sources/specs/unido';
import { WorldBankParamsSchema, worldBankConnector } from '../../sources/specs/world-bank';

/** One raw World Bank record's observations, through the connector's own transform. */
const transformWorldBankRecord = (raw: unknown) =>
  worldBankConnector.transform(raw, WorldBankParamsSchema.parse({ indicators: ['X'] }));

describe('canonicalDecimal', () => {
  test('one spelling per number: plain, no leading or trailing zeros, no -0, no +', () => {
    const cases: Array<[string | number, string]> = [
      ['0', '0'],
      ['0.000000', '0'],
      ['-0', '0'],
      ['-0.0', '0'],
      ['+0', '0'],
      ['0e5', '0'],
      ['-0e-5', '0'],
      ['007.5', '7.5'],
      ['007.50', '7.5'],
      ['12.50', '12.5'],
      ['12.500000', '12.5'],
      ['100', '100'],
      ['100.0', '100'],
      ['1200', '1200'],
      ['+12', '12'],
      ['-12.30', '-12.3'],
      ['-007.010', '-7.01'],
      ['.5', '0.5'],
      ['-.5', '-0.5'],
      ['5.', '5'],
      ['0.05', '0.05'],
      ['1e21', '1000000000000000000000'],
      ['1E21', '1000000000000000000000'],
      ['1e+3', '1000'],
      ['2.50e2', '250'],
      ['1.5E-3', '0.0015'],
      ['-1.5e-7', '-0.00000015'],
      ['123.456e1', '1234.56'],
      ['123.456e-1', '12.3456'],
      ['0.00120e3', '1.2'],
      ['12345678901234567890.10', '12345678901234567890.1'],
      ['  42 ', '42'],
      // JS numbers: String(n) first (shortest round-trip text), so no float artefacts.
      [0, '0'],
      [-0, '0'],
      [12.5, '12.5'],
      [0.1, '0.1'],
      [0.1 + 0.2, '0.30000000000000004'],
      [1e21, '1000000000000000000000'],
      [1.5e21, '1500000000000000000000'],
      [-1.5e-7, '-0.00000015'],
      [123456789012, '123456789012'],
    ];
    for (const [input, expected] of cases) assert.equal(canonicalDecimal(input), expected, JSON.stringify(input));
  });

  test('every finite JS number fits the bound', () => {
    assert.equal(canonicalDecimal(Number.MAX_VALUE), `17976931348623157${'0'.repeat(292)}`);
    assert.equal(canonicalDecimal(Number.MIN_VALUE), `0.${'0'.repeat(323)}5`);
  });

  test('not a number → RowRejected saying what it got', () => {
    for (const input of ['', '-', '+', '.', 'e5', '1e', '1.2.3', '1,5', '12 5', '0x10', 'NaN', 'Infinity', 'abc']) {
      assert.throws(
        () => canonicalDecimal(input),
        (err: unknown) => err instanceof RowRejected && err.message.startsWith('expected a number, got '),
        JSON.stringify(input),
      );
    }
    for (const input of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      assert.throws(() => canonicalDecimal(input), /is not a finite number/, String(input));
    }
  });

  test(`the bound: at most ${MAX_DECIMAL_DIGITS} digits written out, checked on both sides`, () => {
    assert.equal(MAX_DECIMAL_DIGITS, 1000);
    // Integer side: 1e999 has 1000 digits, 1e1000 has 1001.
    assert.equal(canonicalDecimal('1e999'), `1${'0'.repeat(999)}`);
    assert.equal(canonicalDecimal('-9.9e998'), `-99${'0'.repeat(997)}`);
    assert.throws(() => canonicalDecimal('1e1000'), /"1e1000" is out of range: written out it has 1001 digits/);
    // Fraction side: 1e-999 is "0." then 998 zeros and a 1 (1000 digits with its leading 0); 1e-1000 is one more.
    assert.equal(canonicalDecimal('1e-999'), `0.${'0'.repeat(998)}1`);
    assert.throws(() => canonicalDecimal('1e-1000'), /out of range: written out it has 1001 digits/);
    // Long mantissas count too, wherever the point is.
    assert.equal(canonicalDecimal(`0.${'1'.repeat(999)}`).length, 1001);
    assert.throws(() => canonicalDecimal(`0.${'1'.repeat(1000)}`), /1001 digits/);
    assert.equal(canonicalDecimal('7'.repeat(1000)), '7'.repeat(1000));
    assert.throws(() => canonicalDecimal('7'.repeat(1001)), /1001 digits/);
    // Zeros that the canonical form drops do not count.
    assert.equal(canonicalDecimal(`${'0'.repeat(5000)}1.5${'0'.repeat(5000)}`), '1.5');
    assert.equal(canonicalDecimal('0e999999999'), '0');
  });

  test('absurd exponents are rejected at once: no RangeError, no giant string', () => {
    for (const input of ['1e999999999', '1e200000', '-1e-999999999', `1e${'9'.repeat(400)}`, `1e-${'9'.repeat(400)}`]) {
      const started = process.hrtime.bigint();
      const result = parseDecimal(input);
      assert.ok(process.hrtime.bigint() - started < 50_000_000n, `${input.slice(0, 20)} took too long`);
      assert.ok('reason' in result, input.slice(0, 20));
      assert.match(result.reason, /is out of range: written out it has .* more than 1000$/);
      assert.throws(() => canonicalDecimal(input), RowRejected);
    }
    assert.equal(
      (parseDecimal('1e200000') as { reason: string }).reason,
      '"1e200000" is out of range: written out it has 200001 digits, more than 1000',
    );
  });

  test('decimalValue: null and blank are no value; a bad cell names the field; out of range says why', () => {
    const Row = z.object({ Value: decimalValue('expected a number or a blank') });
    assert.deepEqual(Row.parse({ Value: '12.500000' }), { Value: '12.5' });
    assert.deepEqual(Row.parse({ Value: 12.5 }), { Value: '12.5' });
    assert.deepEqual(Row.parse({ Value: null }), { Value: null });
    assert.deepEqual(Row.parse({ Value: '  ' }), { Value: null });
    const issue = (Value: unknown) => Row.safeParse({ Value }).error?.issues[0];
    assert.deepEqual([issue('n/a')?.path, issue('n/a')?.message], [['Value'], 'expected a number or a blank']);
    assert.equal(issue(true)?.message, 'expected a number or a blank');
    assert.equal(issue(undefined)?.message, 'expected a number or a blank');
    assert.match(String(issue('1e999999999')?.message), /^"1e999999999" is out of range/);
  });
});

describe('every connector spells values the one way', () => {
  const faostat = FaostatParamsSchema.parse({});
  const tabular = TabularParamsSchema.parse({
    columns: { seriesKey: ['k'], period: 'p', value: 'v' },
    rowSchema: { k: 'string', p: 'string', v: 'number?' },
  }) as TabularParams;
  /** Each connector's transform of a minimal valid record carrying `value` where its source puts it. */
  const connectors: Record<string, (value: string | number) => unknown> = {
    world_bank: (value) =>
      transformWorldBankRecord({
        indicator: { id: 'AG.PRD.CROP.XD', value: 'Crop production index' },
        country: { id: 'BJ', value: 'Benin' },
        countryiso3code: 'BEN',
        date: '2022',
        value,
      }),
    faostat: (Value) =>
      transformFaostatRecord(
        {
          'Area Code': '53',
          Area: 'Benin',
          'Item Code': '56',
          Item: 'Maize (corn)',
          'Element Code': '5510',
          Element: 'Production',
          Year: '2022',
          Unit: 't',
          Value,
        },
        faostat,
      ),
    ilostat: (v) =>
      transformIlostatRow({
        ref_area: 'BEN',
        indicator: 'UNE_DEAP_SEX_AGE_RT',
        sex: 'SEX_T',
        time: '2022',
        obs_value: String(v),
      }),
    comtrade: (primaryValue) =>
      transformComtradeRecord({
        period: '2023',
        reporterCode: '204',
        flowCode: 'X',
        partnerCode: '0',
        cmdCode: '52',
        primaryValue,
      }),
    unido: (v) =>
      transformUnidoRecord({ countryCode: '204', isic: '10', variable: 'Value added', values: { '2019': String(v) } }),
    modis_ndvi: (meanNdvi) =>
      transformNdviRecord(
        {
          area: 'benin_south',
          month: '2024-01',
          meanNdvi: String(meanNdvi),
          pixelCount: 9,
          composites: 2,
          latestProcDate: null,
        },
        { product: 'MOD13Q1' },
      ),
    tabular_file: (v) => transformTabularRecord({ row: 1, values: { k: 'a', p: '2024', v } }, tabular),
  };
  const valueIn = (rows: unknown) => (rows as Array<{ value: string | null }>)[0]?.value;

  for (const [name, transform] of Object.entries(connectors)) {
    test(`${name}: "12.500000", 12.5, "1.25e1" and "012.5" are all "12.5"; "1e999999999" is a rejected row`, () => {
      for (const input of ['12.500000', 12.5, '1.25e1', '012.5', '+12.50']) {
        assert.equal(valueIn(transform(input)), '12.5', `${name} ${JSON.stringify(input)}`);
      }
      assert.equal(valueIn(transform('-0.000')), '0', `${name} -0.000`);
      assert.equal(valueIn(transform('1e21')), '1000000000000000000000', `${name} 1e21`);
      assert.throws(
        () => transform('1e999999999'),
        (err: unknown) => err instanceof RowRejected && /"1e999999999" is out of range/.test(err.message),
        name,
      );
    });
  }
});
