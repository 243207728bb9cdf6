// What the whole window shares: the accounts, which one is shown, which view, the compose
// in progress, and passing notices.

import { splitAddresses } from './recipients';
import type { Screen } from './screens';
import { api, asError, type AccountView, type AppInfo, type AttachmentInfo, type Compose, type ComposeInput, type Folder, type Picked, type SendMode, type UpdateOffer } from './api';

export type View = Folder | 'compose' | 'address' | 'help' | 'settings';
export type { Screen };

/** A message being written, as the window edits it (recipients as typed). */
export interface ComposeState {
  /** The compose's id ('' until first kept on this computer). */
  id: string;
  mode: SendMode;
  to: string;
  cc: string;
  toGroups: string[];
  subject: string;
  body: string;
  inReplyTo: string | null;
  files: Picked[];
  /** Attachments already at the hub: the draft's own, or the forwarded message's. */
  carried: AttachmentInfo[];
  draftId: string | null;
  /** Why the hub refused to send it, when it came back for changes. */
  refusal: string | null;
}

export function blankCompose(): ComposeState {
  return {
    id: '',
    mode: 'new',
    to: '',
    cc: '',
    toGroups: [],
    subject: '',
    body: '',
    inReplyTo: null,
    files: [],
    carried: [],
    draftId: null,
    refusal: null,
  };
}

/** The compose as the app's core keeps and sends it. */
export function toCore(c: ComposeState): ComposeInput {
  return {
    id: c.id,
    mode: c.mode,
    to: splitAddresses(c.to),
    cc: splitAddresses(c.cc),
    to_groups: c.toGroups,
    subject: c.subject,
    body_text: c.body,
    in_reply_to: c.inReplyTo,
    draft_id: c.draftId,
    files: c.files.map((f) => ({ path: f.path, name: f.name, size: f.size })),
    carried: c.carried,
    refusal: c.refusal,
  };
}

/** A compose kept by the core, for editing. */
export function fromCore(c: Compose): ComposeState {
  return {
    id: c.id,
    mode: c.mode,
    to: c.to.join(', '),
    cc: c.cc.join(', '),
    toGroups: c.to_groups ?? [],
    subject: c.subject,
    body: c.body_text,
    inReplyTo: c.in_reply_to ?? null,
    files: c.files.map((f) => ({ path: f.path, name: f.name, size: f.size })),
    carried: c.carried ?? [],
    draftId: c.draft_id ?? null,
    refusal: c.refusal ?? null,
  };
}

export const app = $state({
  info: null as AppInfo | null,
  screen: 'loading' as Screen,
  accounts: [] as AccountView[],
  current: null as string | null,
  view: 'inbox' as View,
  openId: null as string | null,
  compose: null as ComposeState | null,
  /** A send is under way: the compose is on its way and must not be saved as a draft. */
  sending: false,
  offline: false,
  /** A newer version of the app offered by a mailbox's hub, once a check found one. */
  update: null as UpdateOffer | null,
  notice: '' as string,
  progress: null as { name: string; done: number; total: number } | null,
  /** Bumped whenever the vault changed, so lists reload. */
  revision: 0,
  /** The open message, once a sync found that its sender recalled it: the view drops its
   *  content for the line that says so. */
  recalledOpen: null as string | null,
  /** The messages just deleted: lists drop them at once, before they reload. */
  deleted: [] as string[],
  /** The messages chosen in the list (Ctrl/Shift-click, Ctrl+A) when more than one. */
  selection: [] as string[],
  /** Which account the welcome screen signs in to (null: a new one). */
  signInFor: null as AccountView | null,
});

export function currentAccount(): AccountView | null {
  return app.accounts.find((a) => a.id === app.current) ?? null;
}

let noticeTimer: ReturnType<typeof setTimeout> | null = null;
export function notify(text: string) {
  app.notice = text;
  if (noticeTimer) clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (app.notice = ''), 6000);
}

/** Whether the compose holds anything worth keeping. */
export function composeHasContent(c: ComposeState | null): boolean {
  return !!c && (c.to + c.cc + c.subject + c.body).trim().length + c.files.length + c.toGroups.length > 0;
}

// Keeping the compose as it is written: a moment after each change, the compose goes to the
// app's core, which keeps it in the vault. A crash, a reload or a restart then loses at
// most that moment. Before anything else acts on the compose (send, save, lock, sign-out),
// `keepNow` settles what is pending, so that the compose has its id first.
const KEEP_AFTER_MS = 600;
let keepTimer: ReturnType<typeof setTimeout> | null = null;
let keeping: Promise<void> | null = null;
let lastKept = '';

/** Keeps the current compose a moment after the last change. */
export function keepSoon() {
  const c = app.compose;
  if (!c || !app.current || app.sending) return;
  if (!c.id && !composeHasContent(c)) return;
  if (JSON.stringify(toCore(c)) === lastKept) return;
  if (keepTimer) clearTimeout(keepTimer);
  keepTimer = setTimeout(() => void keepNow(), KEEP_AFTER_MS);
}

/** Keeps the current compose now (if it changed) and waits for any keep under way. */
export async function keepNow(): Promise<void> {
  if (keepTimer) clearTimeout(keepTimer);
  keepTimer = null;
  while (keeping) await keeping;
  const c = app.compose;
  const account = app.current;
  if (!c || !account || app.sending || (!c.id && !composeHasContent(c))) return;
  const core = toCore(c);
  const json = JSON.stringify(core);
  if (json === lastKept) return;
  keeping = api
    .keepCompose(account, core)
    .then((kept) => {
      if (!c.id) c.id = kept.id;
      lastKept = JSON.stringify({ ...core, id: kept.id });
    })
    .catch((e) => notify(`What you are writing could not be kept on this computer: ${asError(e).message}`))
    .finally(() => (keeping = null));
  await keeping;
}

/** Forgets what was kept last (the compose was sent, saved or discarded). */
export function keptDone(compose: Compose | null = null) {
  if (keepTimer) clearTimeout(keepTimer);
  keepTimer = null;
  lastKept = compose ? JSON.stringify(compose) : '';
}
