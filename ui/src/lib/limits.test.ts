import { describe, expect, it } from 'vitest';
import { formatLimit, formatSize, meter, type MailboxLimits } from './limits';

const MB = 1_000_000;
/** A hub on its defaults. */
const hub: MailboxLimits = { max_files: 10, max_total_bytes: 75 * MB, idle_timeout_seconds: 1200 };

describe('attachment meter', () => {
  it('fills with the bytes attached and says nothing within the limits', () => {
    const m = meter([30 * MB, 7.5 * MB], hub);
    expect(m.fraction).toBeCloseTo(0.5);
    expect(m.problem).toBe('');
  });

  it('allows exactly the limits', () => {
    expect(meter(Array(10).fill(1), hub).problem).toBe('');
    expect(meter([hub.max_total_bytes], hub).problem).toBe('');
  });

  it('says how many files to remove past ten', () => {
    const m = meter(Array(12).fill(1), hub);
    expect(m.overFiles).toBe(true);
    expect(m.problem).toBe('12 files attached; a message can carry at most 10. Remove 2.');
  });

  it('says how much to remove past 75 MB, and caps the meter', () => {
    const m = meter([hub.max_total_bytes, 2 * MB], hub);
    expect(m.overBytes).toBe(true);
    expect(m.fraction).toBe(1);
    expect(m.problem).toContain('at most 75 MB. Remove 2.0 MB');
  });

  it('follows the limits this hub reported, not the defaults', () => {
    const strict: MailboxLimits = { max_files: 2, max_total_bytes: 1.5 * MB, idle_timeout_seconds: 600 };
    expect(meter([1, 1, 1], strict).problem).toBe('3 files attached; a message can carry at most 2. Remove 1.');
    expect(meter([MB, MB], strict).problem).toContain('at most 1.5 MB. Remove 500 kB');
    expect(meter([MB], strict).fraction).toBeCloseTo(2 / 3);
  });

  it('formats sizes as people read them', () => {
    expect(formatSize(512)).toBe('512 B');
    expect(formatSize(1500)).toBe('1.5 kB');
    expect(formatSize(3 * MB)).toBe('3.0 MB');
    expect(formatLimit(75 * MB)).toBe('75 MB');
    expect(formatLimit(300_000)).toBe('300 kB');
  });

  it('counts a megabyte as the hub does: 1,000,000 bytes', () => {
    const m = meter([76_000_000], hub);
    expect(m.overBytes, '76,000,000 bytes are over 75 MB').toBe(true);
    expect(m.problem).toContain('76.0 MB attached');
    expect(formatSize(hub.max_total_bytes)).toBe('75.0 MB');
  });
});
