// Dates and expiry as the lists show them.

const DAY = 24 * 60 * 60 * 1000;

/** Calendar days from `now` to `t`, as people count them: tomorrow is 1 whatever the hour. */
function calendarDays(t: number, now: number): number {
  const a = new Date(now);
  const b = new Date(t);
  const start = Date.UTC(a.getFullYear(), a.getMonth(), a.getDate());
  const end = Date.UTC(b.getFullYear(), b.getMonth(), b.getDate());
  return Math.round((end - start) / DAY);
}

/** "expires today", "expires tomorrow", "expires in N days", counted in calendar days in
 *  this computer's time zone: a message kept 3 days expires in 3 days, not 2. */
export function expiresIn(expiresAt: string, now: number = Date.now()): string {
  const at = Date.parse(expiresAt);
  if (at <= now) return 'expired';
  const days = calendarDays(at, now);
  if (days <= 0) return 'expires today';
  return days === 1 ? 'expires tomorrow' : `expires in ${days} days`;
}

/** When a message is deleted, in words: "Friday 4 December 2026 at 14:32". */
export function deletionDate(expiresAt: string): string {
  const d = new Date(expiresAt);
  const day = d.toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return `${day} at ${time}`;
}

/** The line a recalled message leaves in its place: "Withdrawn by the sender on 2 Dec 2026". */
export function withdrawnLine(recalledAt: string): string {
  const day = new Date(recalledAt).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
  return `Withdrawn by the sender on ${day}`;
}

/** How long until `t`, in words: "in 30 minutes", "in 2 hours". */
export function fromNow(t: string, now: number = Date.now()): string {
  const minutes = Math.max(1, Math.ceil((Date.parse(t) - now) / 60_000));
  if (minutes < 90) return minutes === 1 ? 'in 1 minute' : `in ${minutes} minutes`;
  return `in ${Math.round(minutes / 60)} hours`;
}

/** A lock's end as people read it: "14:32 (in 30 minutes)", in this computer's time zone;
 *  another day's date is named too. */
export function lockedUntil(until: string, now: number = Date.now()): string {
  const d = new Date(until);
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  const day = calendarDays(d.getTime(), now) === 0 ? '' : `${d.toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long' })} `;
  return `${day}${time} (${fromNow(until, now)})`;
}

/** The warning a message carries in its last days: "Expires on Friday 4 December — save it
 *  if you need it." */
export function expiryWarning(expiresAt: string): string {
  const day = new Date(expiresAt).toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long' });
  return `Expires on ${day} — save it if you need it.`;
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

