// Times the bench reads (`make bench`, src-tauri/benches/app.rs): when a screen first
// reached the glass, after the frame that drew it, in milliseconds since the epoch.
type Marks = Record<string, number>;

/** Notes `name` the first time it is called: the time after the next two frames. */
export function markPainted(name: string): void {
  const w = window as unknown as { __sealpostMarks?: Marks };
  if (w.__sealpostMarks?.[name]) return;
  w.__sealpostMarks = { ...(w.__sealpostMarks ?? {}), [name]: -1 };
  requestAnimationFrame(() =>
    requestAnimationFrame(() => {
      w.__sealpostMarks![name] = Date.now();
    }),
  );
}

/** Notes `name` now, the first time it is called (a step on the way to a screen). */
export function markNow(name: string): void {
  const w = window as unknown as { __sealpostMarks?: Marks };
  if (w.__sealpostMarks?.[name]) return;
  w.__sealpostMarks = { ...(w.__sealpostMarks ?? {}), [name]: Date.now() };
}
