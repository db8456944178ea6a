/**
 * Snapshot serializer that masks asset hashes (64 hex characters), so snapshots hold the
 * template's shape and stay stable when an asset's content changes.
 */
const ASSET_HASH = /[0-9a-f]{64}/g;
const MASK = '[ASSET HASH]';

module.exports = {
  test: (value: unknown) => typeof value === 'string' && /[0-9a-f]{64}/.test(value),
  serialize: (value: string) => JSON.stringify(value.replace(ASSET_HASH, MASK)),
};
