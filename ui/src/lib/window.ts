// The window is an app, not a web page: the web view's own menu (Back, Reload, Inspect
// Element) and its navigation keys would throw away whatever is on screen, a compose
// included. Text fields keep their editing menu (cut, copy, paste, spelling).

/** Whether a key press would reload the page or move through its history. */
export function isNavigationKey(ev: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey'>): boolean {
  const key = ev.key;
  if (key === 'F5' || key === 'BrowserRefresh' || key === 'BrowserBack' || key === 'BrowserForward') return true;
  if ((ev.ctrlKey || ev.metaKey) && key.toLowerCase() === 'r') return true;
  return ev.altKey && (key === 'ArrowLeft' || key === 'ArrowRight');
}

/** Whether a right-click here may show the web view's menu: only over editable text. */
export function allowsContextMenu(target: EventTarget | null): boolean {
  const el = target as Element | null;
  return !!el?.closest?.('input, textarea, [contenteditable="true"]');
}

/** Turns off the web view's menu and navigation keys for the whole window. */
export function guardWindow(w: Window) {
  w.addEventListener(
    'contextmenu',
    (ev) => {
      if (!allowsContextMenu(ev.target)) ev.preventDefault();
    },
    { capture: true },
  );
  w.addEventListener(
    'keydown',
    (ev) => {
      if (isNavigationKey(ev)) ev.preventDefault();
    },
    { capture: true },
  );
}
