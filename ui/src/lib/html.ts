// An HTML body made safe to show: sanitised (no script, style, form or frame, no event
// handler) and wrapped with its own policy that loads nothing from anywhere. It is shown in
// an <iframe sandbox>: nothing in it can run, and nothing in it can navigate. A frame
// without scripts gets no event listeners either (WebKit runs none in it), so its links
// cannot be followed from inside: each keeps its text with a reference number, and the
// window lists the real addresses below the frame, to open after a confirmation.

import DOMPurify from 'dompurify';

export const FRAME_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** Addresses a link may lead to; anything else is shown as plain text. */
const OPENABLE = /^(https?:|mailto:)/i;

const FRAME_STYLE =
  'body{font:15px/1.5 system-ui,sans-serif;margin:0;padding:0.5rem 0.8rem;overflow-wrap:anywhere;color:#1b1f24}' +
  'a[data-href]{color:#2563c9;text-decoration:underline}sup.ref{color:#6b7280}img{max-width:100%}';

export interface FoundLink {
  /** Its number in the frame, from 1. */
  n: number;
  /** What the message shows. */
  text: string;
  /** Where it really leads. */
  href: string;
}

export interface SafeHtml {
  srcdoc: string;
  links: FoundLink[];
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

let found: FoundLink[] = [];

if (DOMPurify.isSupported) {
  DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName !== 'A') return;
    const href = (node.getAttribute('href') ?? '').trim();
    node.removeAttribute('href');
    node.removeAttribute('target');
    if (!OPENABLE.test(href)) return;
    const n = found.length + 1;
    found.push({ n, text: (node.textContent ?? '').trim() || href, href });
    node.setAttribute('data-href', href);
    const ref = node.ownerDocument.createElement('sup');
    ref.setAttribute('class', 'ref');
    ref.textContent = `[${n}]`;
    node.after(ref);
  });
}

export function safeHtml(html: string): SafeHtml {
  // Without a DOM to sanitise in, nothing of the HTML is trusted: it is shown as text.
  if (!DOMPurify.isSupported) return { srcdoc: wrap(`<pre>${escape(html)}</pre>`), links: [] };
  found = [];
  const clean = DOMPurify.sanitize(html, {
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'iframe', 'object', 'embed', 'link', 'meta', 'base'],
    FORBID_ATTR: ['srcset', 'action', 'formaction', 'background', 'ping'],
    ALLOW_DATA_ATTR: false,
  });
  const links = found;
  found = [];
  return { srcdoc: wrap(clean), links };
}

function wrap(body: string): string {
  return `<!doctype html><meta http-equiv="Content-Security-Policy" content="${FRAME_POLICY}"><style>${FRAME_STYLE}</style>${body}`;
}
