import { describe, expect, it } from 'vitest';

// Every source file of the window, as text (Vite reads them at build time).
const sources = import.meta.glob(['../**/*.ts', '../**/*.svelte', '!../**/*.test.ts'], {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

describe('the contract with the app', () => {
  it('is reached only through the generated bindings', () => {
    expect(Object.keys(sources).length, 'the sources were found').toBeGreaterThan(10);
    const strayCalls = Object.entries(sources)
      .filter(([path]) => !path.endsWith('/bindings.ts'))
      .filter(([, text]) => /@tauri-apps\/api\/(core|event)['"]/.test(text))
      .map(([path]) => path);
    expect(strayCalls, 'commands and events by name, bypassing the generated types').toEqual([]);
  });
});
