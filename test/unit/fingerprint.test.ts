import { fingerprint } from '../../src/domain/fingerprint';

describe('fingerprint', () => {
  test('does not depend on label order', () => {
    expect(fingerprint('am', { a: '1', b: '2' })).toBe(fingerprint('am', { b: '2', a: '1' }));
  });

  test('differs by source and by any label', () => {
    const f = fingerprint('am', { alertname: 'X', instance: 'a' });
    expect(fingerprint('grafana', { alertname: 'X', instance: 'a' })).not.toBe(f);
    expect(fingerprint('am', { alertname: 'X', instance: 'b' })).not.toBe(f);
  });

  test('cannot be forged by moving separators between name and value', () => {
    expect(fingerprint('am', { a: 'b\0c' })).not.toBe(fingerprint('am', { 'a\0b': 'c' }));
    expect(fingerprint('am', { ab: 'c' })).not.toBe(fingerprint('am', { a: 'bc' }));
  });

  test('uses only the identifying labels when a connector names them', () => {
    const ids = ['alertname', 'host'];
    expect(fingerprint('z', { alertname: 'X', host: 'h', value: '1' }, ids))
      .toBe(fingerprint('z', { alertname: 'X', host: 'h', value: '2' }, ids));
  });

  test('never rests on the alert name alone', () => {
    const ids = ['alertname', 'host'];
    // Without `host`, the identifying labels would be just the name: all labels are used instead.
    expect(fingerprint('z', { alertname: 'DiskFull', disk: 'a' }, ids))
      .not.toBe(fingerprint('z', { alertname: 'DiskFull', disk: 'b' }, ids));
  });
});
