// Checks the prebuilt collector layers of a packed library against their manifest.
// Usage: node check-manifest.js ASSETS_COLLECTOR_LAYER_DIR
// Both architectures are recorded, every recorded file exists with the recorded SHA-256,
// and every file of a layer folder is recorded. Exits 1 with the reasons on stderr.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const dir = process.argv[2];
const problems = [];
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf-8'));

function filesUnder(root, prefix = '') {
  return fs.readdirSync(path.join(root, prefix), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.posix.join(prefix, entry.name);
    return entry.isDirectory() ? filesUnder(root, relative) : [relative];
  });
}

for (const architecture of ['x86_64', 'arm64']) {
  const record = (manifest.layers || {})[architecture];
  if (!record || !record.files) {
    problems.push(`manifest.json records no ${architecture} layer`);
    continue;
  }
  const layerDir = path.join(dir, architecture);
  for (const [file, expected] of Object.entries(record.files)) {
    const full = path.join(layerDir, file);
    if (!fs.existsSync(full)) {
      problems.push(`${architecture}/${file} is recorded but not packed`);
      continue;
    }
    const actual = crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex');
    if (actual !== expected) problems.push(`${architecture}/${file}: SHA-256 ${actual}, manifest says ${expected}`);
  }
  for (const file of fs.existsSync(layerDir) ? filesUnder(layerDir) : []) {
    if (!(file in record.files)) problems.push(`${architecture}/${file} is packed but not recorded`);
  }
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
