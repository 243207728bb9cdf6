// Dates and expiry as the lists show them.

const DAY = 24 * 60 * 60 * 1000;

/** "expires today", "expires in 1 day", "expires in N days". */
export function expiresIn(expiresAt: string, now: number = Date.now()): string {
  const left = Date.parse(expiresAt) - now;
  if (left <= 0) return 'expired';
  const days = Math.floor(left / DAY);
  if (days === 0) return 'expires today';
  return days === 1 ? 'expires in 1 day' : `expires in ${days} days`;
}

/** Whether expiry is close enough to draw attention (a week or less). */
export function expiresSoon(expiresAt: string, now: number = Date.now()): boolean {
  return Date.parse(expiresAt) - now <= 7 * DAY;
}

/** Today: the time; this year: day and month; else the full date. */
export function listDate(sentAt: string, now: Date = new Date()): string {
  const d = new Date(sentAt);
  if (d.toDateString() === now.toDateString()) {
    return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  }
  if (d.getFullYear() === now.getFullYear()) {
    return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
  }
  return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
}

export function fullDate(sentAt: string): string {
  return new Date(sentAt).toLocaleString(undefined, {
    dateStyle: 'full',
    timeStyle: 'short',
  });
}

/** "Re: subject" without stacking prefixes. */
export function prefixed(prefix: 'Re' | 'Fwd', subject: string): string {
  const re = new RegExp(`^${prefix}:\\s*`, 'i');
  return re.test(subject) ? subject : `${prefix}: ${subject}`;
}
