// Recipient fields: addresses separated by commas, semicolons or new lines. Whether each is
// an address, and the organisation's, is the app core's answer (`checkAddresses`: the rule
// the hub enforces); this file splits fields, words the problems and suggests contacts.

import type { AddressCheck } from './bindings';

/** Entries of a field as the app's core sorted them by the address rule (the hub's). */
export type RecipientCheck = AddressCheck;

export function splitAddresses(field: string): string[] {
  return field
    .split(/[,;\n]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The sentence shown under the field, or '' when all is well. */
export function recipientProblem(check: RecipientCheck, orgDomains: string[]): string {
  if (check.invalid.length > 0) {
    return `Not an email address: ${check.invalid.join(', ')}.`;
  }
  if (check.outside.length > 0) {
    const domains = orgDomains.map((d) => '@' + d).join(' or ');
    return `${check.outside.join(', ')} ${check.outside.length === 1 ? 'is' : 'are'} outside the organisation. Secure messages can only go to ${domains} addresses.`;
  }
  return '';
}

/** Address-book suggestions for the last, unfinished entry of a field. */
export function suggestions<T extends { name: string; email: string }>(
  field: string,
  contacts: T[],
  limit = 6,
): T[] {
  const parts = field.split(/[,;\n]/);
  const last = (parts[parts.length - 1] ?? '').trim().toLowerCase();
  if (last.length === 0) return [];
  const taken = new Set(splitAddresses(field).map((s) => s.toLowerCase()));
  return contacts
    .filter(
      (c) =>
        !taken.has(c.email.toLowerCase()) &&
        (c.email.toLowerCase().includes(last) || c.name.toLowerCase().includes(last)),
    )
    .slice(0, limit);
}

/** The field with its last, unfinished entry replaced by `address`. */
export function complete(field: string, address: string): string {
  const parts = splitAddresses(field);
  const endsOpen = !/[,;\n]\s*$/.test(field) && parts.length > 0;
  if (endsOpen) parts.pop();
  parts.push(address);
  return parts.join(', ') + ', ';
}
