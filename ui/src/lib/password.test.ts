import { describe, expect, it } from 'vitest';
import { canSubmit, checkPassword, type PasswordRules } from './password';

const rules: PasswordRules = {
  min_length: 15,
  max_length: 64,
  rules: [
    { id: 'min_length', description: 'At least 15 characters' },
    { id: 'max_length', description: 'At most 64 characters' },
    { id: 'not_common', description: 'Not a commonly used password' },
    { id: 'not_address', description: 'Does not contain your email address' },
  ],
};
const email = 'referrals@partner.example';
const state = (pw: string, failed: string[] = []) =>
  Object.fromEntries(checkPassword(pw, email, rules, failed).map((c) => [c.id, c.state]));

describe('password rules as the person types', () => {
  it('counts characters, not bytes, for the length rules', () => {
    expect(state('é'.repeat(14)).min_length, '14 characters are too few').toBe('unmet');
    expect(state('é'.repeat(15)).min_length, '15 two-byte characters are enough').toBe('met');
    expect(state('x'.repeat(65)).max_length).toBe('unmet');
  });

  it('refuses the address or its name part inside the password', () => {
    expect(state('my referrals password here').not_address).toBe('unmet');
    expect(state('REFERRALS@PARTNER.EXAMPLE!!').not_address, 'case does not hide it').toBe('unmet');
    expect(state('correct horse battery staple').not_address).toBe('met');
  });

  it('leaves the common-password rule to the hub, then shows its verdict', () => {
    expect(state('correct horse battery staple').not_common).toBe('pending');
    expect(state('correct horse battery staple', ['not_common']).not_common).toBe('unmet');
  });

  it('allows submitting only a password that meets the known rules, typed twice', () => {
    const ok = 'correct horse battery staple';
    const checks = checkPassword(ok, email, rules);
    expect(canSubmit(checks, ok, ok)).toBe(true);
    expect(canSubmit(checks, ok, ok + 'x'), 'the two entries differ').toBe(false);
    const short = checkPassword('short', email, rules);
    expect(canSubmit(short, 'short', 'short')).toBe(false);
  });
});
