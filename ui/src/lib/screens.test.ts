import { describe, expect, it } from 'vitest';
import { initialScreen, nextScreen, type MailboxRef, type ScreenEvent, type ScreenState } from './screens';

const signedIn: MailboxRef = { id: 'a1', signed_in: true, remembered: false };
const remembered: MailboxRef = { id: 'a2', signed_in: false, remembered: true };
const signedOut: MailboxRef = { id: 'a3', signed_in: false, remembered: false };

/** The state after each event in turn, from a fresh start. */
function run(...events: ScreenEvent[]): ScreenState {
  return events.reduce<ScreenState>((s, e) => nextScreen(s, e), initialScreen);
}
const start = (accounts: MailboxRef[], link: string | null = null): ScreenEvent => ({
  type: 'started',
  fatal: null,
  link,
  accounts,
});
const inMain = () => run(start([signedIn]));

describe('starting', () => {
  it('says why the app cannot work, and nothing else', () => {
    const s = run({ type: 'started', fatal: 'No keyring', link: null, accounts: [signedIn] });
    expect(s.screen).toBe('fatal');
    expect(nextScreen(s, { type: 'link_opened', link: 'sealpost://register?x' }).screen, 'no way out of fatal').toBe('fatal');
    expect(nextScreen(s, { type: 'lock' }).screen).toBe('fatal');
  });

  it('welcomes a first start, and a start from a link even with mailboxes', () => {
    expect(run(start([])).screen).toBe('welcome');
    const s = run(start([signedIn], 'sealpost://register?t'));
    expect(s).toMatchObject({ screen: 'welcome', link: 'sealpost://register?t', signInFor: null });
  });

  it('opens a signed-in or remembered first mailbox, and asks for the password of another', () => {
    expect(run(start([signedIn]))).toMatchObject({ screen: 'main', current: 'a1' });
    expect(run(start([remembered]))).toMatchObject({ screen: 'main', current: 'a2' });
    expect(run(start([signedOut]))).toMatchObject({ screen: 'welcome', current: 'a3', signInFor: signedOut });
  });
});

describe('signing in and out', () => {
  it('opens the mailbox signed in to and forgets the link that led there', () => {
    const s = run(start([], 'sealpost://register?t'), { type: 'signed_in', account: signedIn });
    expect(s).toMatchObject({ screen: 'main', current: 'a1', signInFor: null, link: null });
  });

  it('returns to that mailbox’s sign-in when a remembered session is refused, not when offline', () => {
    const s = run(start([remembered]));
    expect(nextScreen(s, { type: 'resume_refused', account: remembered, offline: true }).screen).toBe('main');
    expect(nextScreen(s, { type: 'resume_refused', account: remembered, offline: false })).toMatchObject({
      screen: 'welcome',
      signInFor: remembered,
    });
    const locked = nextScreen(s, { type: 'lock' });
    expect(
      nextScreen(locked, { type: 'resume_refused', account: remembered, offline: false }).screen,
      'a refusal that arrives on the lock screen asks for the password too',
    ).toBe('welcome');
    const other = nextScreen(s, { type: 'shown', account: signedIn });
    expect(
      nextScreen(other, { type: 'resume_refused', account: remembered, offline: false }).screen,
      'the refusal came for a mailbox no longer shown',
    ).toBe('main');
  });

  it('asks for the password when the hub ends the shown mailbox’s session, only then', () => {
    expect(nextScreen(inMain(), { type: 'session_ended', account: signedIn })).toMatchObject({
      screen: 'welcome',
      signInFor: signedIn,
    });
    expect(nextScreen(inMain(), { type: 'session_ended', account: remembered }).screen).toBe('main');
    const locked = nextScreen(inMain(), { type: 'lock' });
    expect(nextScreen(locked, { type: 'session_ended', account: signedIn }).screen, 'the lock stays').toBe('locked');
  });

  it('signs out to that mailbox’s sign-in, from the inbox or the lock screen', () => {
    expect(nextScreen(inMain(), { type: 'signed_out', account: signedIn })).toMatchObject({ screen: 'welcome', signInFor: signedIn });
    const locked = nextScreen(inMain(), { type: 'lock' });
    expect(nextScreen(locked, { type: 'signed_out', account: signedIn }).screen).toBe('welcome');
  });

  it('adds a mailbox from a fresh sign-in screen, and can go back', () => {
    const adding = nextScreen({ ...inMain(), link: 'old' }, { type: 'add_mailbox' });
    expect(adding).toMatchObject({ screen: 'welcome', signInFor: null, link: null });
    expect(nextScreen(adding, { type: 'cancel_add' })).toMatchObject({ screen: 'main', current: 'a1' });
    const afterSignOut = nextScreen(inMain(), { type: 'signed_out', account: signedIn });
    expect(nextScreen(afterSignOut, { type: 'cancel_add' }).screen, 'after a sign-out the way back is the password').toBe('welcome');
  });
});

describe('locking', () => {
  it('locks only an open mailbox and unlocks back to it', () => {
    const locked = nextScreen(inMain(), { type: 'lock' });
    expect(locked).toMatchObject({ screen: 'locked', current: 'a1' });
    expect(nextScreen(locked, { type: 'unlocked' })).toMatchObject({ screen: 'main', current: 'a1' });
    expect(run(start([])).screen, 'no lock on the welcome screen').toBe('welcome');
    expect(nextScreen(run(start([])), { type: 'lock' }).screen).toBe('welcome');
    expect(nextScreen(inMain(), { type: 'unlocked' }).screen, 'nothing to unlock').toBe('main');
  });

  it('goes from the lock screen to a reset or a new sign-in of the mailbox', () => {
    const locked = nextScreen(inMain(), { type: 'lock' });
    expect(nextScreen(locked, { type: 'forgot', account: signedIn })).toMatchObject({
      screen: 'welcome',
      signInFor: signedIn,
      forgot: true,
    });
    expect(nextScreen(locked, { type: 'sign_in_again', account: signedIn })).toMatchObject({
      screen: 'welcome',
      forgot: false,
    });
    expect(nextScreen(inMain(), { type: 'forgot', account: signedIn }).screen, 'only from the lock screen').toBe('main');
  });

  it('leaves a link that arrives while locked alone, and takes one otherwise', () => {
    const locked = nextScreen(inMain(), { type: 'lock' });
    expect(nextScreen(locked, { type: 'link_opened', link: 'sealpost://reset?t' })).toEqual(locked);
    expect(nextScreen(inMain(), { type: 'link_opened', link: 'sealpost://reset?t' })).toMatchObject({
      screen: 'welcome',
      link: 'sealpost://reset?t',
      signInFor: null,
    });
  });

  it('shows the mailbox of a clicked notification, only while a mailbox is open', () => {
    expect(nextScreen(inMain(), { type: 'focus', account: 'a2' })).toMatchObject({ screen: 'main', current: 'a2' });
    const locked = nextScreen(inMain(), { type: 'lock' });
    expect(nextScreen(locked, { type: 'focus', account: 'a2' })).toEqual(locked);
  });
});
