// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { FRAME_POLICY, safeHtml } from './html';

const safeSrcdoc = (html: string) => safeHtml(html).srcdoc;

describe('HTML bodies', () => {
  it('lose scripts, event handlers and javascript: links', () => {
    const out = safeSrcdoc(
      '<p onclick="steal()">Hi</p><script>steal()</script><a href="javascript:steal()">x</a><img src=x onerror="steal()">',
    );
    expect(out).toContain('<p>Hi</p>');
    expect(out, 'no script survives').not.toMatch(/<script|onclick|onerror|javascript:/i);
  });

  it('lose forms, frames and style sheets', () => {
    const out = safeSrcdoc(
      '<form action="https://evil.example"><input name="password"></form><iframe src="https://evil.example"></iframe><link rel="stylesheet" href="https://evil.example/x.css">',
    );
    expect(out).not.toMatch(/<form|<input|<iframe|<link|evil\.example/i);
  });

  it('carry a policy that loads nothing remote, first in the document', () => {
    const out = safeSrcdoc('<img src="https://tracker.example/pixel.gif">');
    expect(out.startsWith(`<!doctype html><meta http-equiv="Content-Security-Policy" content="${FRAME_POLICY}">`)).toBe(true);
    expect(FRAME_POLICY).toContain("default-src 'none'");
    expect(FRAME_POLICY, 'images only from the message itself').toContain('img-src data:');
  });

  it('keep links from navigating, and list where each really leads', () => {
    const { srcdoc, links } = safeHtml(
      '<a href="https://phish.example/login" target="_blank">https://example.gov.uk/agenda</a> <a href="file:///etc/passwd">f</a> <a href="mailto:ann@example.gov.uk">Ann</a>',
    );
    expect(srcdoc, 'no link can navigate by itself').not.toMatch(/\shref=|target=/i);
    expect(links, 'the real address beside the text shown; only web and mail links').toEqual([
      { n: 1, text: 'https://example.gov.uk/agenda', href: 'https://phish.example/login' },
      { n: 2, text: 'Ann', href: 'mailto:ann@example.gov.uk' },
    ]);
    const doc = new DOMParser().parseFromString(srcdoc, 'text/html');
    expect(doc.body.textContent, 'each link carries its number in the frame').toContain('https://example.gov.uk/agenda[1]');
    expect(safeHtml('<p>no links</p>').links, 'links are counted per message').toEqual([]);
  });
});
