/**
 * Splits a comma-separated environment variable into trimmed, non-empty, lower-case entries.
 * @param {string | undefined} raw
 * @returns {string[]}
 */
export function parseList(raw) {
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry) => entry.length > 0);
}
