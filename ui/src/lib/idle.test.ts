import { describe, expect, it } from 'vitest';
import { IdleTimer, lockAfterSeconds, sayDuration, type IdleClock } from './idle';

/** A clock the test moves by hand, with the timers it holds. */
class TestClock implements IdleClock {
  t = 0;
  timers = new Map<number, { at: number; fn: () => void }>();
  next = 1;
  now() {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown) {
    this.timers.delete(h as number);
  }
  advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, v]) => v.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }
}

describe('idle lock timer', () => {
  it('locks once the timeout passes without input', () => {
    const clock = new TestClock();
    let locked = 0;
    const timer = new IdleTimer(20 * 60_000, () => locked++, clock);
    timer.start();
    clock.advance(20 * 60_000 - 1);
    expect(locked, 'a millisecond early is not idle').toBe(0);
    clock.advance(1);
    expect(locked).toBe(1);
    clock.advance(60 * 60_000);
    expect(locked, 'it locks once, then waits to be started again').toBe(1);
  });

  it('counts from the last input', () => {
    const clock = new TestClock();
    let locked = 0;
    const timer = new IdleTimer(1000, () => locked++, clock);
    timer.start();
    clock.advance(900);
    timer.activity();
    clock.advance(900);
    expect(locked, 'input 900 ms in restarts the countdown').toBe(0);
    expect(timer.remaining()).toBe(100);
    clock.advance(100);
    expect(locked).toBe(1);
  });

  it('does not lock while stopped, and ignores input then', () => {
    const clock = new TestClock();
    let locked = 0;
    const timer = new IdleTimer(1000, () => locked++, clock);
    timer.start();
    timer.stop();
    timer.activity();
    clock.advance(5000);
    expect(locked).toBe(0);
    timer.start();
    clock.advance(1000);
    expect(locked, 'counting resumes from the restart').toBe(1);
  });

  it('takes a shorter limit at once, counted from the last input', () => {
    const clock = new TestClock();
    let locked = 0;
    const timer = new IdleTimer(20 * 60_000, () => locked++, clock);
    timer.start();
    clock.advance(5 * 60_000);
    timer.setLimit(6 * 60_000);
    clock.advance(60_000 - 1);
    expect(locked, 'six minutes since the last input are not over yet').toBe(0);
    clock.advance(1);
    expect(locked).toBe(1);
  });
});

describe('the warning before the lock', () => {
  it('comes a minute before, and goes when the person is back', () => {
    const clock = new TestClock();
    let locked = 0;
    const said: string[] = [];
    const timer = new IdleTimer(20 * 60_000, () => locked++, clock, {
      onWarn: (left) => said.push(`warn ${left}`),
      onBack: () => said.push('back'),
    });
    timer.start();
    clock.advance(19 * 60_000 - 1);
    expect(said, 'no warning before the last minute').toEqual([]);
    clock.advance(1);
    expect(said).toEqual(['warn 60000']);
    timer.activity();
    expect(said, 'any input ends the warning').toEqual(['warn 60000', 'back']);
    clock.advance(60_000);
    expect(locked, 'the countdown started again').toBe(0);
    clock.advance(18 * 60_000);
    expect(said).toEqual(['warn 60000', 'back', 'warn 60000']);
    clock.advance(60_000);
    expect(locked).toBe(1);
  });

  it('comes a third of the time before a short timeout', () => {
    const clock = new TestClock();
    const said: number[] = [];
    const timer = new IdleTimer(15_000, () => {}, clock, { onWarn: (left) => said.push(left), onBack: () => {} });
    timer.start();
    clock.advance(10_000);
    expect(said).toEqual([5_000]);
  });
});

describe('a new limit while the warning shows', () => {
  it('ends a warning the longer limit makes untrue, and warns at once inside a shorter one', () => {
    const clock = new TestClock();
    const said: string[] = [];
    let locked = 0;
    const timer = new IdleTimer(120_000, () => locked++, clock, {
      onWarn: (left) => said.push(`warn ${left}`),
      onBack: () => said.push('back'),
    });
    timer.start();
    clock.advance(80_000);
    expect(said).toEqual(['warn 40000']);
    timer.setLimit(20 * 60_000);
    expect(said, 'the old warning goes').toEqual(['warn 40000', 'back']);
    timer.setLimit(90_000);
    clock.advance(0);
    expect(said, '10 s left of a 90 s limit: warned at once').toEqual(['warn 40000', 'back', 'warn 10000']);
    clock.advance(10_000);
    expect(locked).toBe(1);
  });
});

describe('how long the window may sit idle', () => {
  const mailbox = (seconds: number) => ({ limits: { idle_timeout_seconds: seconds } });

  it("is the shortest idle timeout of the mailboxes' hubs, signed in or remembered", () => {
    expect(lockAfterSeconds(null, [mailbox(1200), mailbox(600), mailbox(900)])).toBe(600);
  });

  it('is what this computer sets, whatever the hubs say', () => {
    expect(lockAfterSeconds(45, [mailbox(1200)])).toBe(45);
  });

  it('is never under a minute from a hub, so an unlock is not locked again at once', () => {
    expect(lockAfterSeconds(null, [mailbox(0)])).toBe(60);
  });

  it('is nothing to count without a mailbox', () => {
    expect(lockAfterSeconds(null, [])).toBeNull();
  });

  it('is said as people say it', () => {
    expect(sayDuration(45)).toBe('45 seconds');
    expect(sayDuration(60)).toBe('1 minute');
    expect(sayDuration(1200)).toBe('20 minutes');
  });
});
