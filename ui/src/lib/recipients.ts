// Recipient fields: addresses separated by commas, semicolons or new lines, checked against
// the organisation's domains as the person types (the same rule the hub enforces).

export interface RecipientCheck {
  /** Addresses as entered, normalised (lower case, trimmed). */
  addresses: string[];
  /** Entries that are not email addresses. */
  invalid: string[];
  /** Addresses outside the organisation's domains. */
  outside: string[];
}

export function splitAddresses(field: string): string[] {
  return field
    .split(/[,;\n]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Lower-cased address, or null when it is not one (the same test as the client core). */
export function normalise(raw: string): string | null {
  const e = raw.trim().toLowerCase();
  const at = e.indexOf('@');
  if (at <= 0 || e.indexOf('@', at + 1) !== -1 || /\s/.test(e)) return null;
  const domain = e.slice(at + 1);
  if (!domain.includes('.') || domain.startsWith('.') || domain.endsWith('.')) return null;
  return e;
}

export function isOrgAddress(address: string, orgDomains: string[]): boolean {
  const domain = address.slice(address.lastIndexOf('@') + 1);
  return orgDomains.some((d) => d.toLowerCase() === domain);
}

export function checkRecipients(field: string, orgDomains: string[]): RecipientCheck {
  const result: RecipientCheck = { addresses: [], invalid: [], outside: [] };
  for (const raw of splitAddresses(field)) {
    const a = normalise(raw);
    if (a === null) {
      result.invalid.push(raw);
    } else {
      result.addresses.push(a);
      if (orgDomains.length > 0 && !isOrgAddress(a, orgDomains)) result.outside.push(a);
    }
  }
  return result;
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

/** Who a reply reaches, as the hub will work it out: Reply goes to the sender only;
 *  Reply to All adds the organisation's other recipients (never outside addresses, never
 *  the person replying). Shown so that nobody has to guess. */
export function replyAudience(
  mode: 'reply' | 'reply_all',
  original: { from: string; to: string[]; cc: string[] },
  me: string,
  orgDomains: string[],
): string[] {
  const sender = original.from.toLowerCase();
  const out = [sender];
  if (mode === 'reply') return out;
  for (const raw of [...original.to, ...original.cc]) {
    const a = normalise(raw);
    if (a && a !== me.toLowerCase() && isOrgAddress(a, orgDomains) && !out.includes(a)) out.push(a);
  }
  return out;
}
