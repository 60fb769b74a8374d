import { bucketOf, bucketValue, percentile, RELATIVE_ERROR } from '../../src/domain/duration-histogram';
import { isPeriodError, parsePeriod, planPeriod, splitMonths, type ReportPeriod } from '../../src/domain/report-period';
import { toCsv } from '../../src/reports/report-csv';

const period = (from: string, to: string): ReportPeriod => ({ from: new Date(from), to: new Date(to) });

test('a period needs both times, with a zone, real, from before to', () => {
  expect(parsePeriod({ from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00+02:00' }))
    .toEqual(period('2026-03-01T00:00:00Z', '2026-03-01T22:00:00Z'));
  for (const [q, field] of [
    [{ to: '2026-03-02T00:00:00Z' }, 'from'], [{ from: '2026-03-01T00:00:00Z' }, 'to'],
    [{ from: '2026-03-01', to: '2026-03-02T00:00:00Z' }, 'from'],
    [{ from: '2026-13-01T00:00:00Z', to: '2027-01-01T00:00:00Z' }, 'from'],
    [{ from: '2026-02-29T00:00:00Z', to: '2027-01-01T00:00:00Z' }, 'from'],
    [{ from: '2026-03-01T24:00:00Z', to: '2027-01-01T00:00:00Z' }, 'from'],
    [{ from: '2026-03-02T00:00:00Z', to: '2026-03-02T00:00:00Z' }, 'to'],
    [{ from: ['a', 'b'], to: '2026-03-02T00:00:00Z' }, 'from'],
  ] as const) {
    const p = parsePeriod(q);
    expect(isPeriodError(p) ? p.field : 'parsed').toBe(field);
  }
  expect(isPeriodError(parsePeriod({ from: '2028-02-29T00:00:00Z', to: '2028-03-01T00:00:00.5Z' }))).toBe(false);
});

test('a period reads whole rolled-up days from the roll-up, the rest live', () => {
  const p = period('2026-03-01T11:00:00Z', '2026-03-05T12:00:00Z');
  expect(planPeriod(p, undefined)).toEqual({ live: [p] });
  expect(planPeriod(p, new Date('2026-03-04T00:00:00Z'))).toEqual({
    rolled: { fromDay: '2026-03-02', toDay: '2026-03-04' },
    live: [period('2026-03-01T11:00:00Z', '2026-03-02T00:00:00Z'),
      period('2026-03-04T00:00:00Z', '2026-03-05T12:00:00Z')],
  });
  expect(planPeriod(period('2026-03-01T00:00:00Z', '2026-03-03T00:00:00Z'), new Date('2026-04-01T00:00:00Z')))
    .toEqual({ rolled: { fromDay: '2026-03-01', toDay: '2026-03-03' }, live: [] });
  expect(planPeriod(period('2026-03-01T01:00:00Z', '2026-03-01T23:00:00Z'), new Date('2026-04-01T00:00:00Z')))
    .toEqual({ live: [period('2026-03-01T01:00:00Z', '2026-03-01T23:00:00Z')] });
});

test('a percentile is its bucket value, within 2 % of the true one at any scale', () => {
  for (const s of [1, 1.5, 7, 59, 61, 600, 3599, 86_400, 7 * 86_400, 365 * 86_400]) {
    expect(Math.abs(bucketValue(bucketOf(s)) - s) / s).toBeLessThanOrEqual(RELATIVE_ERROR + 1e-12);
  }
  expect(bucketOf(0.4)).toBe(0);
  expect(bucketOf(-5)).toBe(0);
  const h = new Map<number, number>();
  for (const s of [10, 20, 30, 40, 1000]) h.set(bucketOf(s), (h.get(bucketOf(s)) ?? 0) + 1);
  expect(percentile(h, 0.5)).toBe(Math.round(bucketValue(bucketOf(30))));
  expect(percentile(h, 0.8)).toBe(Math.round(bucketValue(bucketOf(40))));
  expect(percentile(h, 0.81)).toBe(Math.round(bucketValue(bucketOf(1000))));
  expect(percentile(new Map(), 0.5)).toBeNull();
});

test('CSV quotes what needs it and defuses formulas', () => {
  const columns = [{ name: 'a', description: '' }, { name: 'b,c', description: '' }];
  expect(toCsv(columns, [{ a: 'x\ny', 'b,c': -1.5 }, { a: '+1', 'b,c': null }, { a: '@x', 'b,c': 'plain' }]))
    .toBe('a,"b,c"\r\n"x\ny",-1.5\r\n\'+1,\r\n\'@x,plain\r\n');
});

test('rolled days split into whole months and the days around them', () => {
  expect(splitMonths('2026-01-15', '2026-04-03')).toEqual({
    months: { fromMonth: '2026-02-01', toMonth: '2026-04-01' },
    days: [{ fromDay: '2026-01-15', toDay: '2026-02-01' }, { fromDay: '2026-04-01', toDay: '2026-04-03' }],
  });
  expect(splitMonths('2026-01-01', '2027-01-01')).toEqual({ months: { fromMonth: '2026-01-01', toMonth: '2027-01-01' },
    days: [] });
  expect(splitMonths('2026-12-02', '2027-01-01')).toEqual({ days: [{ fromDay: '2026-12-02', toDay: '2027-01-01' }] });
  expect(splitMonths('2026-03-01', '2026-03-04')).toEqual({ days: [{ fromDay: '2026-03-01', toDay: '2026-03-04' }] });
});
