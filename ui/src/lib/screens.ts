// Which screen the window shows, and for which mailbox: a pure state machine. The app's
// component (App.svelte) does the work around each step (saving what is written, starting
// the idle timer, asking the core) and hands the step here; this file alone decides where
// the window goes, so every way between screens is tested (screens.test.ts).
//
//   loading ─started─▶ fatal | welcome | main (a signed-in or remembered mailbox)
//   welcome ─signed_in─▶ main ─lock/idle─▶ locked ─unlocked─▶ main
//   main ─session_ended / signed_out / resume_refused─▶ welcome (that mailbox's sign-in)
//   main ─add_mailbox─▶ welcome (a new one) ─cancel_add─▶ main
//   locked ─forgot / sign_in_again─▶ welcome (that mailbox's sign-in or reset)
//   any but locked and fatal ─link_opened─▶ welcome (the link's registration or reset)
//   main ─focus─▶ main, on the notification's mailbox

export type Screen = 'loading' | 'fatal' | 'welcome' | 'main' | 'locked';

/** A mailbox as the screens need it. */
export interface MailboxRef {
  id: string;
  signed_in: boolean;
  remembered: boolean;
}

export interface ScreenState<A extends MailboxRef = MailboxRef> {
  screen: Screen;
  /** The mailbox shown (or last shown). */
  current: string | null;
  /** The mailbox the welcome screen signs in to; null: a new one. */
  signInFor: A | null;
  /** A sealpost:// link to act on (registration or reset); null once it has done its work. */
  link: string | null;
  /** The welcome screen opens on "forgot password" rather than sign-in. */
  forgot: boolean;
}

export type ScreenEvent<A extends MailboxRef = MailboxRef> =
  /** The app started: why it cannot work, the link it was started with, its mailboxes. */
  | { type: 'started'; fatal: string | null; link: string | null; accounts: A[] }
  /** A mailbox was chosen in the switcher (or is the first at start). */
  | { type: 'shown'; account: A }
  /** Signed in, registered or resumed: the mailbox opens. */
  | { type: 'signed_in'; account: A }
  /** A remembered session could not be resumed; offline, the vault still reads. */
  | { type: 'resume_refused'; account: A; offline: boolean }
  /** The hub ended the session of a mailbox. */
  | { type: 'session_ended'; account: A }
  /** A notification was clicked: show its mailbox (only when one is open already). */
  | { type: 'focus'; account: string }
  /** A sealpost:// link arrived while the app runs. */
  | { type: 'link_opened'; link: string }
  /** Locked by hand or by the idle timer. */
  | { type: 'lock' }
  | { type: 'unlocked' }
  /** From the lock screen: choose a new password, or sign in again with the hub. */
  | { type: 'forgot'; account: A | null }
  | { type: 'sign_in_again'; account: A | null }
  | { type: 'signed_out'; account: A | null }
  | { type: 'add_mailbox' }
  | { type: 'cancel_add' };

export const initialScreen: ScreenState<never> = {
  screen: 'loading',
  current: null,
  signInFor: null,
  link: null,
  forgot: false,
};

const welcome = <A extends MailboxRef>(s: ScreenState<A>, signInFor: A | null, more: Partial<ScreenState<A>> = {}): ScreenState<A> => ({
  ...s,
  screen: 'welcome',
  signInFor,
  forgot: false,
  ...more,
});

/** Where the window goes on `event` from `s`. Steps that do not apply where the window is
 *  (a lock while signed out, a session ending for a mailbox not shown) change nothing. */
export function nextScreen<A extends MailboxRef>(s: ScreenState<A>, event: ScreenEvent<A>): ScreenState<A> {
  switch (event.type) {
    case 'started': {
      if (event.fatal) return { ...s, screen: 'fatal' };
      const first = event.accounts[0];
      if (event.link || !first) return welcome(s, null, { link: event.link });
      return nextScreen(s, { type: 'shown', account: first });
    }
    case 'shown': {
      const a = event.account;
      if (a.signed_in || a.remembered) return { ...s, screen: 'main', current: a.id, signInFor: null, forgot: false };
      return welcome(s, a, { current: a.id });
    }
    case 'signed_in':
      // The link has done its work: a later sign-out must not bring it back.
      return { ...s, screen: 'main', current: event.account.id, signInFor: null, link: null, forgot: false };
    case 'resume_refused':
      if (event.offline || s.current !== event.account.id) return s;
      return s.screen === 'main' || s.screen === 'locked' ? welcome(s, event.account) : s;
    case 'focus':
      return s.screen === 'main' ? { ...s, current: event.account } : s;
    case 'session_ended':
      if (s.screen !== 'main' || s.current !== event.account.id) return s;
      return welcome(s, event.account);
    case 'link_opened':
      if (s.screen === 'locked' || s.screen === 'fatal') return s;
      return welcome(s, null, { link: event.link });
    case 'lock':
      return s.screen === 'main' ? { ...s, screen: 'locked' } : s;
    case 'unlocked':
      return s.screen === 'locked' ? { ...s, screen: 'main' } : s;
    case 'forgot':
      return s.screen === 'locked' ? welcome(s, event.account, { forgot: true }) : s;
    case 'sign_in_again':
      return s.screen === 'locked' ? welcome(s, event.account) : s;
    case 'signed_out':
      return s.screen === 'main' || s.screen === 'locked' ? welcome(s, event.account) : s;
    case 'add_mailbox':
      return s.screen === 'main' ? welcome(s, null, { link: null }) : s;
    case 'cancel_add':
      return s.screen === 'welcome' && s.signInFor === null ? { ...s, screen: 'main' } : s;
  }
}
