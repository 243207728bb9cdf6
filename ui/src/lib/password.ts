// Live password rules: what can be checked as the person types. "Not a common password" is
// checked by the hub against its bundled lists when the password is submitted; until then
// it shows as not yet known.

import type { PasswordRule, PasswordRules } from './bindings';

export type { PasswordRule, PasswordRules };

export type RuleState = 'met' | 'unmet' | 'pending';

export interface RuleCheck {
  id: string;
  description: string;
  state: RuleState;
}

/** Counts characters as people do (code points), like the hub. */
export function length(password: string): number {
  return [...password].length;
}

/** The state of each rule for `password`; `failedByHub` marks rules the hub refused. */
export function checkPassword(
  password: string,
  email: string,
  rules: PasswordRules,
  failedByHub: string[] = [],
): RuleCheck[] {
  const n = length(password);
  const lower = password.toLowerCase();
  const address = email.toLowerCase();
  const local = address.split('@')[0] ?? '';
  return rules.rules.map((rule) => {
    let state: RuleState;
    switch (rule.id) {
      case 'min_length':
        state = n >= rules.min_length ? 'met' : 'unmet';
        break;
      case 'max_length':
        state = n <= rules.max_length ? 'met' : 'unmet';
        break;
      case 'not_address':
        state =
          n > 0 &&
          (lower.includes(address) || ([...local].length >= 3 && lower.includes(local)))
            ? 'unmet'
            : n > 0
              ? 'met'
              : 'pending';
        break;
      default:
        state = 'pending';
    }
    if (failedByHub.includes(rule.id)) state = 'unmet';
    return { id: rule.id, description: rule.description, state };
  });
}

/** Whether the password may be submitted: nothing known to fail, and both entries equal. */
export function canSubmit(checks: RuleCheck[], password: string, confirm: string): boolean {
  return password.length > 0 && password === confirm && !checks.some((c) => c.state === 'unmet');
}
