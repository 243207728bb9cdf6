// An HTML body made safe to show: sanitised (no script, style, form or frame, no event
// handler) and wrapped with its own policy that loads nothing from anywhere. The result is
// shown in an <iframe sandbox=""> (no script, a unique origin).

import DOMPurify from 'dompurify';

export const FRAME_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function safeSrcdoc(html: string): string {
  // Without a DOM to sanitise in, nothing of the HTML is trusted: it is shown as text.
  const clean = !DOMPurify.isSupported ? `<pre>${escape(html)}</pre>` : DOMPurify.sanitize(html, {
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'iframe', 'object', 'embed', 'link', 'meta', 'base'],
    FORBID_ATTR: ['srcset', 'action', 'formaction', 'background', 'ping'],
    ALLOW_DATA_ATTR: false,
  });
  return `<!doctype html><meta http-equiv="Content-Security-Policy" content="${FRAME_POLICY}">${clean}`;
}
