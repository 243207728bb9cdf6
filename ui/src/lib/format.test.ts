import { describe, expect, it } from 'vitest';
import { deletionDate, expiresIn, expiresSoon, expiryWarning, fromNow, lockedUntil, withdrawnLine } from './format';
import { runs } from './text';

const now = Date.parse('2026-11-28T12:00:00Z');
const DAY = 86_400_000;

describe('expiry', () => {
  // Local midday, so that the calendar days do not depend on the test machine's zone.
  const noon = new Date(2026, 10, 28, 12, 0, 0).getTime();
  const at = (days: number, hours = 0) => new Date(noon + days * DAY + hours * 3600_000).toISOString();
  it('counts days as people do', () => {
    expect(expiresIn(at(3), noon), 'kept 3 days').toBe('expires in 3 days');
    expect(expiresIn(at(3, -0.01), noon), 'a moment less').toBe('expires in 3 days');
    expect(expiresIn(at(90), noon), 'a new 90-day message').toBe('expires in 90 days');
    expect(expiresIn(at(1), noon), 'kept 1 day').toBe('expires tomorrow');
    expect(expiresIn(at(0, 2), noon)).toBe('expires today');
    expect(expiresIn(new Date(noon - 1).toISOString(), noon)).toBe('expired');
  });
  it('names the day of deletion', () => {
    const said = deletionDate(new Date(2026, 11, 4, 14, 32).toISOString());
    expect(said).toContain('2026');
    expect(said).toContain('4');
    expect(said).toMatch(/14[:.]32|2:32/);
  });
  it('says a recalled message was withdrawn, on its local day, with nothing of it', () => {
    const said = withdrawnLine(new Date(2026, 11, 2, 23, 50).toISOString());
    expect(said).toMatch(/^Withdrawn by the sender on /);
    expect(said).toMatch(/\b2\b/);
    expect(said).toMatch(/Dec/);
    expect(said).toContain('2026');
  });
  it('says when a lock ends in local time and in minutes', () => {
    const until = new Date(noon + 30 * 60_000).toISOString();
    expect(lockedUntil(until, noon)).toMatch(/\(in 30 minutes\)$/);
    expect(lockedUntil(until, noon)).not.toContain('T');
    expect(fromNow(new Date(noon + 61_000).toISOString(), noon)).toBe('in 2 minutes');
  });
  it('draws attention in the last week', () => {
    expect(expiresSoon(new Date(now + 6 * DAY).toISOString(), now)).toBe(true);
    expect(expiresSoon(new Date(now + 30 * DAY).toISOString(), now)).toBe(false);
  });
});

describe('subjects and bodies', () => {
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

describe('the expiry warning', () => {
  it('names the day and says what to do', () => {
    const w = expiryWarning('2026-12-04T12:00:00Z');
    expect(w).toMatch(/^Expires on .*4.* — save it if you need it\.$/);
    expect(w).toContain('December');
  });
});
