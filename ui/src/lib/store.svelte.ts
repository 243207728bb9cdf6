// What the whole window shares: the accounts, which one is shown, which view, the compose
// in progress, and passing notices.

import type { AccountView, AppInfo, Folder, Outgoing, Picked, AttachmentInfo } from './api';

export type View = Folder | 'compose' | 'address' | 'help';
export type Screen = 'loading' | 'fatal' | 'welcome' | 'main' | 'locked';

export interface ComposeState {
  mode: Outgoing['mode'];
  to: string;
  cc: string;
  toGroups: string[];
  subject: string;
  body: string;
  inReplyTo: string | null;
  files: Picked[];
  /** Attachments carried over (forward of a message, or a draft's own). */
  carried: AttachmentInfo[];
  draftId: string | null;
  /** The message answered (Reply, Reply to All), to show who the answer reaches. */
  original?: { from: string; to: string[]; cc: string[] } | null;
}

export function blankCompose(): ComposeState {
  return {
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
  offline: false,
  notice: '' as string,
  progress: null as { name: string; done: number; total: number } | null,
  /** Bumped whenever the vault changed, so lists reload. */
  revision: 0,
  /** The message just deleted: lists drop it at once, before they reload. */
  deleted: null as string | null,
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

/** The compose as the hub takes it. */
export function outgoingOf(c: ComposeState): Outgoing {
  const split = (s: string) =>
    s
      .split(/[,;\n]/)
      .map((x) => x.trim())
      .filter(Boolean);
  return {
    mode: c.mode,
    to: split(c.to),
    cc: split(c.cc),
    to_groups: c.toGroups,
    cc_groups: [],
    subject: c.subject,
    body_text: c.body,
    in_reply_to: c.inReplyTo,
    forward_attachments: c.mode === 'forward' ? c.carried.length > 0 : null,
    keep_attachment_ids: c.draftId ? c.carried.map((a) => a.id) : null,
  };
}

/** Whether the compose holds anything worth keeping. */
export function composeHasContent(c: ComposeState | null): boolean {
  return !!c && (c.to + c.cc + c.subject + c.body).trim().length + c.files.length > 0;
}
