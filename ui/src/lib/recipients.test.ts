import { describe, expect, it } from 'vitest';
import { complete, recipientProblem, splitAddresses, suggestions, type RecipientCheck } from './recipients';

const org = ['example.gov.uk'];
const check = (c: Partial<RecipientCheck>): RecipientCheck => ({ addresses: [], invalid: [], outside: [], ...c });

// Whether an entry is an address, and the organisation's, is decided by the app's core
// (`policy::check_addresses`, tested in Rust); these tests cover what the window adds.
describe('recipients', () => {
  it('splits a field the usual ways', () => {
    expect(splitAddresses('Ann@Example.gov.uk; bob@example.gov.uk,\ncat@example.gov.uk ,, ')).toEqual([
      'Ann@Example.gov.uk',
      'bob@example.gov.uk',
      'cat@example.gov.uk',
    ]);
  });

  it('says nothing when all are inside the organisation', () => {
    expect(recipientProblem(check({ addresses: ['ann@example.gov.uk'] }), org)).toBe('');
  });

  it('names each outside address and the domains that are allowed', () => {
    const c = check({ addresses: ['ann@example.gov.uk', 'friend@gmail.com'], outside: ['friend@gmail.com'] });
    expect(recipientProblem(c, org)).toBe(
      'friend@gmail.com is outside the organisation. Secure messages can only go to @example.gov.uk addresses.',
    );
    expect(recipientProblem(check({ outside: ['a@x.example', 'b@y.example'] }), ['example.gov.uk', 'council.example'])).toBe(
      'a@x.example, b@y.example are outside the organisation. Secure messages can only go to @example.gov.uk or @council.example addresses.',
    );
  });

  it('reports what is not an address before the domain rule', () => {
    const c = check({ invalid: ['ann@', 'bob'], outside: ['friend@gmail.com'] });
    expect(recipientProblem(c, org)).toBe('Not an email address: ann@, bob.');
  });

  it('suggests contacts for the unfinished entry and completes it', () => {
    const contacts = [
      { name: 'Ann Smith', email: 'ann@example.gov.uk' },
      { name: 'Bob Jones', email: 'bob@example.gov.uk' },
    ];
    expect(suggestions('ann@example.gov.uk, jo', contacts).map((c) => c.email)).toEqual([
      'bob@example.gov.uk',
    ]);
    expect(suggestions('ann', contacts).map((c) => c.email)).toEqual(['ann@example.gov.uk']);
    expect(suggestions('ann@example.gov.uk, ', contacts), 'nothing typed yet').toEqual([]);
    expect(complete('ann@example.gov.uk, jo', 'bob@example.gov.uk')).toBe(
      'ann@example.gov.uk, bob@example.gov.uk, ',
    );
  });
});
