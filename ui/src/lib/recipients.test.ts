import { describe, expect, it } from 'vitest';
import { checkRecipients, complete, recipientProblem, replyAudience, suggestions } from './recipients';

const org = ['example.gov.uk'];

describe('recipients', () => {
  it('accepts organisation addresses in any case, separated any usual way', () => {
    const c = checkRecipients('Ann@Example.gov.uk; bob@example.gov.uk,\ncat@example.gov.uk', org);
    expect(c.addresses).toEqual(['ann@example.gov.uk', 'bob@example.gov.uk', 'cat@example.gov.uk']);
    expect(recipientProblem(c, org), 'all are inside the organisation').toBe('');
  });

  it('names each outside address and the domains that are allowed', () => {
    const c = checkRecipients('ann@example.gov.uk, friend@gmail.com', org);
    expect(c.outside).toEqual(['friend@gmail.com']);
    expect(recipientProblem(c, org)).toBe(
      'friend@gmail.com is outside the organisation. Secure messages can only go to @example.gov.uk addresses.',
    );
  });

  it('does not take a look-alike domain for the organisation', () => {
    expect(checkRecipients('x@example.gov.uk.evil.com', org).outside).toHaveLength(1);
    expect(checkRecipients('x@notexample.gov.uk', org).outside).toHaveLength(1);
  });

  it('reports what is not an address before the domain rule', () => {
    const c = checkRecipients('ann@, bob', org);
    expect(c.invalid).toEqual(['ann@', 'bob']);
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

  it('shows who a reply reaches: the sender only, or with the organisation\'s other recipients', () => {
    const original = {
      from: 'Case.Worker@example.gov.uk',
      to: ['referrals@partner.example', 'manager@example.gov.uk'],
      cc: ['family@gmail.com', 'case.worker@example.gov.uk', 'team@EXAMPLE.gov.uk'],
    };
    const me = 'referrals@partner.example';
    expect(replyAudience('reply', original, me, ['example.gov.uk'])).toEqual(['case.worker@example.gov.uk']);
    expect(
      replyAudience('reply_all', original, me, ['example.gov.uk']),
      'outside addresses and the person replying are left out; the sender is not repeated',
    ).toEqual(['case.worker@example.gov.uk', 'manager@example.gov.uk', 'team@example.gov.uk']);
  });
});
