// The app's commands, typed. Every failure arrives as a UiError with a `code` to switch on.

import { invoke } from '@tauri-apps/api/core';
import type { PasswordRules } from './password';

export type Code =
  | 'offline'
  | 'invalid_credentials'
  | 'account_locked'
  | 'account_disabled'
  | 'sign_in_required'
  | 'weak_password'
  | 'invalid_link'
  | 'already_registered'
  | 'recipient_not_allowed'
  | 'attachment_limit'
  | 'rate_limited'
  | 'not_found'
  | 'keyring'
  | 'vault'
  | 'invalid'
  | 'internal';

export interface UiError {
  code: Code;
  message: string;
  refused?: string[];
  locked_until?: string;
  rules_failed?: string[];
}

export function asError(e: unknown): UiError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) return e as UiError;
  return { code: 'internal', message: String(e) };
}

export type Folder = 'inbox' | 'sent' | 'drafts';
export type SendMode = 'new' | 'reply' | 'reply_all' | 'forward';

export interface AccountView {
  id: string;
  email: string;
  hub_url: string;
  unread: number;
  remembered: boolean;
  signed_in: boolean;
  locked: boolean;
}

export interface AttachmentInfo {
  id: string;
  name: string;
  size: number;
  content_type: string;
}

export interface MessageSummary {
  id: string;
  folder: Folder;
  from: string;
  to: string[];
  cc: string[];
  subject: string;
  sent_at: string;
  expires_at: string;
  read: boolean;
  attachments: AttachmentInfo[];
  delivery?: { status: string; detail?: string } | null;
  /** Drafts and Sent items: the compose they were saved or sent from. */
  client_ref?: string | null;
}

export interface Message extends MessageSummary {
  body_text: string;
  body_html?: string | null;
  in_reply_to?: string | null;
  mode?: SendMode | null;
}

/** A message being written, as the app's core keeps it (see `Compose` in the core). */
export interface Compose {
  id: string;
  mode: SendMode;
  to: string[];
  cc: string[];
  to_groups: string[];
  subject: string;
  body_text: string;
  in_reply_to: string | null;
  draft_id: string | null;
  files: Array<{ path: string; name: string; size: number }>;
  carried: AttachmentInfo[];
  /** Why the hub refused to send it (it came back to be changed); absent otherwise. */
  refusal?: string | null;
}

export type SendOutcome =
  | { outcome: 'sent'; message: MessageSummary }
  | { outcome: 'queued'; outbox_id: number };

export interface Picked {
  path: string;
  name: string;
  size: number;
}

export interface Contact {
  id: string;
  name: string;
  email: string;
}

export interface Group {
  id: string;
  name: string;
  contact_ids: string[];
}

export interface Pending {
  id: number;
  kind: 'send' | 'draft';
  status: 'queued' | 'failed';
  error: string;
  subject: string;
  to: string[];
}

export interface LinkInfo {
  kind: 'register' | 'reset';
  hub_url: string;
  email?: string;
  org_name?: string;
  rules?: PasswordRules;
}

export interface SearchHit {
  message: MessageSummary;
  excerpt: string;
}

export interface AppInfo {
  idle_seconds: number;
  launch_link: string | null;
  fatal: string | null;
  version: string;
}

export const api = {
  appInfo: () => invoke<AppInfo>('app_info'),
  accounts: () => invoke<AccountView[]>('accounts'),
  linkInfo: (link: string) => invoke<LinkInfo>('link_info', { link }),
  register: (link: string, password: string, remember: boolean) =>
    invoke<AccountView>('register', { link, password, remember }),
  signIn: (hubUrl: string, email: string, password: string, remember: boolean) =>
    invoke<AccountView>('sign_in', { hubUrl, email, password, remember }),
  resume: (account: string) => invoke<AccountView>('resume', { account }),
  requestReset: (hubUrl: string, email: string) =>
    invoke<number>('request_reset', { hubUrl, email }),
  confirmReset: (link: string, password: string) =>
    invoke<void>('confirm_reset', { link, password }),
  list: (
    account: string,
    folder: Folder,
    limit: number,
    after: { sent_at: string; id: string } | null,
  ) => invoke<MessageSummary[]>('list', { account, folder, limit, after }),
  search: (account: string, query: string) => invoke<SearchHit[]>('search', { account, query }),
  openMessage: (account: string, id: string) => invoke<Message>('open_message', { account, id }),
  deleteMessage: (account: string, id: string) =>
    invoke<void>('delete_message', { account, id }),
  saveAttachment: (account: string, messageId: string, attachmentId: string, name: string) =>
    invoke<{ path: string; bytes: number } | null>('save_attachment', {
      account,
      messageId,
      attachmentId,
      name,
    }),
  pickFiles: () => invoke<Picked[]>('pick_files'),
  fileInfo: (paths: string[]) => invoke<Picked[]>('file_info', { paths }),
  orgDomains: (account: string) => invoke<string[]>('org_domains', { account }),
  composes: (account: string) => invoke<Compose[]>('composes', { account }),
  keepCompose: (account: string, compose: Compose) =>
    invoke<Compose>('keep_compose', { account, compose }),
  sendCompose: (account: string, compose: Compose) =>
    invoke<SendOutcome>('send_compose', { account, compose }),
  saveCompose: (account: string, compose: Compose) =>
    invoke<SendOutcome>('save_compose', { account, compose }),
  discardCompose: (account: string, compose: Compose) =>
    invoke<void>('discard_compose', { account, compose }),
  openDraft: (account: string, id: string) => invoke<Compose>('open_draft', { account, id }),
  deleteDraft: (account: string, id: string) => invoke<void>('delete_draft', { account, id }),
  pending: (account: string) => invoke<Pending[]>('pending', { account }),
  addressBook: (account: string) =>
    invoke<{ contacts: Contact[]; groups: Group[] }>('address_book', { account }),
  saveContact: (account: string, id: string | null, contact: { name: string; email: string }) =>
    invoke<Contact>('save_contact', { account, id, contact }),
  deleteContact: (account: string, id: string) => invoke<void>('delete_contact', { account, id }),
  saveGroup: (account: string, id: string | null, group: { name: string; contact_ids: string[] }) =>
    invoke<Group>('save_group', { account, id, group }),
  deleteGroup: (account: string, id: string) => invoke<void>('delete_group', { account, id }),
  lock: (compose: { account: string; compose: Compose } | null) =>
    invoke<boolean>('lock', { compose }),
  unlock: (account: string, password: string) =>
    invoke<AccountView>('unlock', { account, password }),
  signOut: (account: string, compose: Compose | null) => invoke<void>('sign_out', { account, compose }),
  removeAccount: (account: string) => invoke<void>('remove_account', { account }),
  openLink: (url: string) => invoke<void>('open_link', { url }),
};
