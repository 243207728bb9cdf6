import { describe, expect, it } from 'vitest';
import { expiresIn, expiresSoon, prefixed } from './format';
import { runs } from './text';

const now = Date.parse('2026-11-28T12:00:00Z');
const DAY = 86_400_000;

describe('expiry', () => {
  it('counts whole days left', () => {
    expect(expiresIn(new Date(now + 89.5 * DAY).toISOString(), now)).toBe('expires in 89 days');
    expect(expiresIn(new Date(now + 1.2 * DAY).toISOString(), now)).toBe('expires in 1 day');
    expect(expiresIn(new Date(now + 3600_000).toISOString(), now)).toBe('expires today');
    expect(expiresIn(new Date(now - 1).toISOString(), now)).toBe('expired');
  });
  it('draws attention in the last week', () => {
    expect(expiresSoon(new Date(now + 6 * DAY).toISOString(), now)).toBe(true);
    expect(expiresSoon(new Date(now + 30 * DAY).toISOString(), now)).toBe(false);
  });
});

describe('subjects and bodies', () => {
  it('does not stack Re: and Fwd:', () => {
    expect(prefixed('Re', 'Care plan')).toBe('Re: Care plan');
    expect(prefixed('Re', 'RE: Care plan')).toBe('RE: Care plan');
    expect(prefixed('Fwd', 'Re: Care plan')).toBe('Fwd: Re: Care plan');
  });
  it('finds links in plain text, leaving sentence punctuation out', () => {
    const r = runs('See https://example.gov.uk/a?b=1. Or mail mailto:x@example.gov.uk');
    expect(r.filter((x) => x.kind === 'link').map((x) => x.text)).toEqual([
      'https://example.gov.uk/a?b=1',
      'mailto:x@example.gov.uk',
    ]);
    expect(r.map((x) => x.text).join(''), 'no text is lost').toBe(
      'See https://example.gov.uk/a?b=1. Or mail mailto:x@example.gov.uk',
    );
  });
  it('treats markup in a body as text', () => {
    const r = runs('<script>alert(1)</script>');
    expect(r).toEqual([{ kind: 'text', text: '<script>alert(1)</script>' }]);
  });
});
