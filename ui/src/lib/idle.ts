// The inactivity lock: any input restarts the countdown; when it runs out the app locks.
// Time comes from the caller (a clock and a timer function), so tests move it by hand.

export interface IdleClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: IdleClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** What the timer tells besides the lock itself: a warning shortly before it (a minute, or
 *  a third of the timeout when that is shorter), and that the warning is over because the
 *  person is back. */
export interface IdleWarnings {
  onWarn(msLeft: number): void;
  onBack(): void;
}

export class IdleTimer {
  private last: number;
  private handle: unknown = null;
  private running = false;
  private warned = false;

  constructor(
    private timeoutMs: number,
    private readonly onIdle: () => void,
    private readonly clock: IdleClock = systemClock,
    private readonly warnings: IdleWarnings | null = null,
  ) {
    this.last = clock.now();
  }

  /** How long before the lock the warning comes. */
  warnBeforeMs(): number {
    return Math.min(60_000, Math.floor(this.timeoutMs / 3));
  }

  /** Starts (or restarts) counting from now. */
  start(): void {
    this.running = true;
    this.last = this.clock.now();
    this.calm();
    this.schedule(this.nextCheck(this.timeoutMs));
  }

  /** Stops counting (while locked or signed out). */
  stop(): void {
    this.running = false;
    this.calm();
    if (this.handle !== null) this.clock.clearTimeout(this.handle);
    this.handle = null;
  }

  /** Input happened: the countdown starts again. Cheap enough to call on every event. */
  activity(): void {
    if (!this.running) return;
    this.last = this.clock.now();
    this.calm();
  }

  /** Changes how long inactivity may last; counts from the last activity, as before. */
  setLimit(ms: number): void {
    this.timeoutMs = ms;
    if (!this.running) return;
    // A warning given for the old limit is no longer true: it comes again if due.
    this.calm();
    this.schedule(this.nextCheck(this.remaining()));
  }

  /** Milliseconds left before locking. */
  remaining(): number {
    return Math.max(0, this.timeoutMs - (this.clock.now() - this.last));
  }

  private schedule(ms: number): void {
    if (this.handle !== null) this.clock.clearTimeout(this.handle);
    this.handle = this.clock.setTimeout(() => this.check(), ms);
  }

  // Activity does not reschedule (that would cost a timer per key press); the timer checks
  // how long it has really been when it fires, and waits the rest if needed.
  private check(): void {
    this.handle = null;
    if (!this.running) return;
    const left = this.remaining();
    if (left <= 0) {
      this.running = false;
      this.calm();
      this.onIdle();
      return;
    }
    if (left <= this.warnBeforeMs() && !this.warned && this.warnings) {
      this.warned = true;
      this.warnings.onWarn(left);
    }
    this.schedule(this.nextCheck(left));
  }

  /** When to look next, `left` ms before the lock: at the warning, else at the lock. */
  private nextCheck(left: number): number {
    if (!this.warnings || this.warned) return left;
    return Math.max(0, left - this.warnBeforeMs());
  }

  private calm(): void {
    if (!this.warned) return;
    this.warned = false;
    this.warnings?.onBack();
  }
}

/** How long the window may sit idle before it locks, in seconds: the time set for this
 *  computer (`SEALPOST_IDLE_SECONDS`), or else the shortest idle timeout among the hubs of
 *  the mailboxes on this computer, as each said at its last sign-in (the window shows any
 *  of them, signed in, remembered or offline; each hub ends an idle session by itself, and
 *  the window locks no later). A timeout under a minute counts as a minute, so that the
 *  window never locks again straight after an unlock. `null` when there is no mailbox. */
export function lockAfterSeconds(
  override: number | null,
  accounts: { limits: { idle_timeout_seconds: number } }[],
): number | null {
  if (override !== null) return override;
  const timeouts = accounts.map((a) => Math.max(60, a.limits.idle_timeout_seconds));
  return timeouts.length ? Math.min(...timeouts) : null;
}

/** `seconds` as people say it: "45 seconds", "1 minute", "20 minutes". */
export function sayDuration(seconds: number): string {
  if (seconds < 60) return `${seconds} seconds`;
  const m = Math.round(seconds / 60);
  return m === 1 ? '1 minute' : `${m} minutes`;
}
