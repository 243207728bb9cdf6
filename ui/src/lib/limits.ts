// The attachment limits of a message, as the hub reported them at sign-in (kept in the
// vault, so they hold offline): shown as a meter while composing, and refused before
// anything is uploaded.

import type { MailboxLimits } from './bindings';

export type { MailboxLimits };

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

/** Sizes in SI units, as the hub states and enforces its limit (1 MB = 1,000,000 bytes). */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(bytes < 10_000 ? 1 : 0)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** The limit as people say it: "75 MB", "1.5 MB", "300 kB". */
export function formatLimit(bytes: number): string {
  const text = formatSize(bytes);
  return text.replace(/\.0 (MB|kB)$/, ' $1');
}

export function meter(sizes: number[], limits: MailboxLimits): Meter {
  const files = sizes.length;
  const bytes = sizes.reduce((a, b) => a + b, 0);
  const overFiles = files > limits.max_files;
  const overBytes = bytes > limits.max_total_bytes;
  let problem = '';
  if (overFiles) {
    problem = `${files} files attached; a message can carry at most ${limits.max_files}. Remove ${files - limits.max_files}.`;
  } else if (overBytes) {
    problem = `${formatSize(bytes)} attached; a message can carry at most ${formatLimit(limits.max_total_bytes)}. Remove ${formatSize(bytes - limits.max_total_bytes)} or send the rest in another message.`;
  }
  return {
    files,
    bytes,
    // A hub that allows no attachments at all shows a full meter as soon as one is added.
    fraction: limits.max_total_bytes > 0 ? Math.min(1, bytes / limits.max_total_bytes) : bytes > 0 ? 1 : 0,
    overFiles,
    overBytes,
    problem,
  };
}
