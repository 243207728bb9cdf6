// The attachment limits of a message (the hub's defaults): shown as a meter while composing,
// and refused before anything is uploaded.

export const MAX_FILES = 10;
/** 75 MB: sizes are stated in SI units everywhere (1 MB = 1,000,000 bytes), as the hub
 *  states and enforces its limit. */
export const MAX_TOTAL_BYTES = 75_000_000;

export interface Meter {
  files: number;
  bytes: number;
  /** Share of the byte limit used, 0–1 (capped). */
  fraction: number;
  overFiles: boolean;
  overBytes: boolean;
  /** What to tell the person, or '' when within the limits. */
  problem: string;
}

export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(bytes < 10_000 ? 1 : 0)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

export function meter(sizes: number[]): Meter {
  const files = sizes.length;
  const bytes = sizes.reduce((a, b) => a + b, 0);
  const overFiles = files > MAX_FILES;
  const overBytes = bytes > MAX_TOTAL_BYTES;
  let problem = '';
  if (overFiles) {
    problem = `${files} files attached; a message can carry at most ${MAX_FILES}. Remove ${files - MAX_FILES}.`;
  } else if (overBytes) {
    problem = `${formatSize(bytes)} attached; a message can carry at most 75 MB. Remove ${formatSize(bytes - MAX_TOTAL_BYTES)} or send the rest in another message.`;
  }
  return {
    files,
    bytes,
    fraction: Math.min(1, bytes / MAX_TOTAL_BYTES),
    overFiles,
    overBytes,
    problem,
  };
}
