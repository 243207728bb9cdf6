import { describe, expect, it } from 'vitest';
import { MAX_TOTAL_BYTES, formatSize, meter } from './limits';

const MB = 1_000_000;

describe('attachment meter', () => {
  it('fills with the bytes attached and says nothing within the limits', () => {
    const m = meter([30 * MB, 7.5 * MB]);
    expect(m.fraction).toBeCloseTo(0.5);
    expect(m.problem).toBe('');
  });

  it('allows exactly the limits', () => {
    expect(meter(Array(10).fill(1)).problem).toBe('');
    expect(meter([MAX_TOTAL_BYTES]).problem).toBe('');
  });

  it('says how many files to remove past ten', () => {
    const m = meter(Array(12).fill(1));
    expect(m.overFiles).toBe(true);
    expect(m.problem).toBe('12 files attached; a message can carry at most 10. Remove 2.');
  });

  it('says how much to remove past 75 MB, and caps the meter', () => {
    const m = meter([MAX_TOTAL_BYTES, 2 * MB]);
    expect(m.overBytes).toBe(true);
    expect(m.fraction).toBe(1);
    expect(m.problem).toContain('Remove 2.0 MB');
  });

  it('formats sizes as people read them', () => {
    expect(formatSize(512)).toBe('512 B');
    expect(formatSize(1500)).toBe('1.5 kB');
    expect(formatSize(3 * MB)).toBe('3.0 MB');
  });

  it('counts a megabyte as the hub does: 1,000,000 bytes', () => {
    expect(MAX_TOTAL_BYTES).toBe(75_000_000);
    const m = meter([76_000_000]);
    expect(m.overBytes, '76,000,000 bytes are over 75 MB').toBe(true);
    expect(m.problem).toContain('76.0 MB attached');
    expect(formatSize(MAX_TOTAL_BYTES)).toBe('75.0 MB');
  });
});
