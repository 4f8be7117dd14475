/**
 * Response bodies shared by the bench origin (which serves them) and the runner (which verifies them).
 * The 16 KiB body is a fixed, position-dependent ASCII pattern so a truncated, shifted or mixed-up body
 * never compares equal to the expected one.
 */

export const TINY_BODY = 'ok';

function make16k(): string {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  for (let i = 0; i < 16384; i++) {
    out += chars[(i * 7 + (i >>> 8)) % chars.length];
  }
  return out;
}

export const BODY_16K_TEXT = make16k();
export const BODY_16K = Buffer.from(BODY_16K_TEXT, 'latin1');
