// The app's commands and events, typed: `bindings.ts` is generated from the Rust types
// (`make bindings`), so a name or a shape changed on one side fails the other's build. This
// file gives the window's code short names for what it receives, and one way to read a
// failure: every failed command rejects with a UiError whose `code` the screens switch on.

import { commands, events } from './bindings';
import type * as B from './bindings';

export const api = commands;
export { events };

export type Code = B.Code;
export type UiError = B.UiError_Serialize;
export type AccountView = B.AccountView;
export type AppInfo = B.AppInfo_Serialize;
export type UpdateOffer = B.UpdateOffer_Serialize;
export type AttachmentInfo = B.AttachmentInfo;
export type Compose = B.Compose_Serialize;
/** A compose as the window hands it back to the core (a kept `Compose` is one too). */
export type ComposeInput = B.Compose_Deserialize;
export type Contact = B.Contact;
export type Delegate = B.Delegate;
export type DelegateList = B.DelegateList;
export type Enrolment = B.Enrolment;
export type MfaState = B.MfaState;
export type Folder = B.Folder;
export type Group = B.Group;
export type LinkInfo = B.LinkInfo;
export type Message = B.Message_Serialize;
export type MessageSummary = B.MessageSummary_Serialize;
export type Pending = B.Pending;
export type Picked = B.Picked;
export type SearchHit = B.SearchHit_Serialize;
export type SendMode = B.SendMode;
export type SendOutcome = B.SendOutcome_Serialize;

export function asError(e: unknown): UiError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) return e as UiError;
  return { code: 'internal', message: String(e) };
}
