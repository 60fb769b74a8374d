import { OutageReporter } from '../../src/queue/outage-reporter';

test('an outage is reported on the 1st, 2nd, 4th, 8th... failure with the count, and its end once', () => {
  const reported: number[] = [];
  const recovered: number[] = [];
  const r = new OutageReporter((_err, n) => reported.push(n), (n) => recovered.push(n));
  for (let i = 0; i < 40; i++) r.failed(new Error('connect ECONNREFUSED'));
  expect(reported).toEqual([1, 2, 4, 8, 16, 32]);
  r.recovered();
  r.recovered();
  expect(recovered).toEqual([40]);
  r.failed(new Error('again'));
  expect(reported).toEqual([1, 2, 4, 8, 16, 32, 1]);
});
