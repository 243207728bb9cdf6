import { describe, expect, it } from 'vitest';
import { isNavigationKey } from './window';

const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean }> = {}) => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  ...mods,
});

describe('the window is an app, not a page', () => {
  it('refuses the keys that reload the page or move through its history', () => {
    for (const k of [key('F5'), key('r', { ctrlKey: true }), key('R', { ctrlKey: true }), key('r', { metaKey: true }),
      key('ArrowLeft', { altKey: true }), key('ArrowRight', { altKey: true }), key('BrowserBack'), key('BrowserRefresh')]) {
      expect(isNavigationKey(k), JSON.stringify(k)).toBe(true);
    }
  });

  it('leaves typing and the app’s own shortcuts alone', () => {
    for (const k of [key('r'), key('R'), key('ArrowLeft'), key('n', { ctrlKey: true }), key('l', { ctrlKey: true }), key('Delete')]) {
      expect(isNavigationKey(k), JSON.stringify(k)).toBe(false);
    }
  });
});
