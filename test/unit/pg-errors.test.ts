import { classifyPgError, isConflict, isConnectionError, isDataError } from '../../src/store/pg-errors';

const pg = (code: string): Error => Object.assign(new Error(`sqlstate ${code}`), { code });

test.each([
  ['22008', 'data'], // datetime field overflow: a year PostgreSQL cannot store
  ['22P02', 'data'],
  ['23502', 'data'],
  ['23514', 'data'],
  ['21000', 'data'], // ON CONFLICT DO UPDATE touching one row twice
  ['54000', 'data'], // index row size exceeds btree maximum
  ['54001', 'data'],
  ['40001', 'conflict'],
  ['40P01', 'conflict'],
  ['23505', 'conflict'],
  ['08006', 'connection'],
  ['08001', 'connection'],
  ['57P01', 'connection'], // admin shutdown
  ['57P03', 'connection'], // the database is starting up
  ['53300', 'connection'], // too many connections
  ['53100', 'connection'], // disk full
  ['58030', 'connection'],
  ['57014', 'other'], // statement cancelled (timeout)
  ['42P01', 'other'], // no such table (before migrations)
  ['XX000', 'other'],
])('SQLSTATE %s is %s', (code, kind) => {
  expect(classifyPgError(pg(code))).toBe(kind);
});

test('23505 is retried at once, then permanent; 40001 only retried', () => {
  expect([isConflict(pg('23505')), isDataError(pg('23505'))]).toEqual([true, true]);
  expect([isConflict(pg('40001')), isDataError(pg('40001'))]).toEqual([true, false]);
  expect([isConflict(pg('54000')), isDataError(pg('54000'))]).toEqual([false, true]);
});

test.each([
  ['a refused socket', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
  ['a reset socket', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
  ['node-postgres losing the server', new Error('Connection terminated unexpectedly')],
  ['the pool timing out', new Error('timeout exceeded when trying to connect')],
  ['a wrapped cause', new Error('query failed', { cause: Object.assign(new Error('x'), { code: '57P01' }) })],
  ['several addresses refused', new AggregateError([Object.assign(new Error('a'), { code: 'ECONNREFUSED' })])],
])('%s is a connection error, not a data error', (_what, err) => {
  expect(isConnectionError(err)).toBe(true);
  expect(isDataError(err)).toBe(false);
});

test('errors that are not the database\'s are other', () => {
  expect(classifyPgError(new TypeError('x is undefined'))).toBe('other');
  expect(classifyPgError(undefined)).toBe('other');
  expect(classifyPgError('a string')).toBe('other');
});
