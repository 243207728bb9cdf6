// Plain-text bodies, shown as text: split into runs of text and links so that links can be
// clickable without ever putting message content into HTML.

export type Run = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

const LINK = /\b(?:https?:\/\/|mailto:)[^\s<>"']+/gi;

export function runs(body: string): Run[] {
  const out: Run[] = [];
  let last = 0;
  for (const m of body.matchAll(LINK)) {
    // Trailing punctuation belongs to the sentence, not the address.
    const raw = m[0].replace(/[.,;:!?)\]]+$/, '');
    const start = m.index ?? 0;
    if (start > last) out.push({ kind: 'text', text: body.slice(last, start) });
    out.push({ kind: 'link', text: raw, href: raw });
    last = start + raw.length;
  }
  if (last < body.length) out.push({ kind: 'text', text: body.slice(last) });
  return out;
}
