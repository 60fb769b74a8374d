import { isConnectionError } from '../../src/store/pg-errors';

const withCode = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });

test.each([
  ['a refused connect', withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
  ['a reset socket', withCode('ECONNRESET')],
  ['pg_ctl stop -m fast (57P01)', withCode('57P01', 'terminating connection due to administrator command')],
  ['a server starting up (57P03)', withCode('57P03', 'the database system is starting up')],
  ['a connection exception (08006)', withCode('08006')],
  ['the socket ending', new Error('Connection terminated unexpectedly')],
  ['a client that lost its connection', new Error('Client has encountered a connection error and is not queryable')],
  ['the pool connect timeout', new Error('timeout exceeded when trying to connect')],
  ['a wrapped cause', new Error('apply failed', { cause: withCode('ECONNREFUSED') })],
  ['a connect to several addresses', new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')])],
])('%s is a connection error', (_what, err) => {
  expect(isConnectionError(err)).toBe(true);
});

test.each([
  ['a data exception (22P02)', withCode('22P02', 'invalid input syntax')],
  ['a unique violation (23505)', withCode('23505')],
  ['a serialization failure (40001)', withCode('40001')],
  ['a plain error', new Error('boom')],
  ['not an error', 'ECONNREFUSED'],
])('%s is not', (_what, err) => {
  expect(isConnectionError(err)).toBe(false);
});
