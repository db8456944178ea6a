// Checks the cloud assembly of app/traced.js. Usage: node check-assembly.js CHECK CDK_OUT
//   layers        both functions carry two layers and load the preload through NODE_OPTIONS
//   architectures one x86_64 and one arm64 function, each given the collector built for it
// Exits 1 with the reason on stderr when the check fails.
'use strict';
const fs = require('fs');
const path = require('path');

const [check, cdkOut] = process.argv.slice(2);
const contract = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'contract', 'contract.json'), 'utf-8'));
const PRELOAD_OPTION = `--import ${contract.preload.importPath}`;
const template = JSON.parse(fs.readFileSync(path.join(cdkOut, 'NewcomerStack.template.json'), 'utf-8'));
const resources = template.Resources;
const functions = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');

// e_machine of an ELF file, or undefined when the file is missing or not ELF.
const ELF_MACHINES = { 0x3e: 'x86_64', 0xb7: 'arm64' };
function elfArchitecture(file) {
  if (!fs.existsSync(file)) return undefined;
  const head = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  try { fs.readSync(fd, head, 0, 20, 0); } finally { fs.closeSync(fd); }
  if (head.readUInt32BE(0) !== 0x7f454c46) return undefined;
  return ELF_MACHINES[head.readUInt16LE(18)];
}

// The asset directory in cdk.out of a layer the function references.
function layerAssetDir(functionId, layer) {
  const id = layer && layer.Ref;
  if (!id || !resources[id]) throw new Error(`${functionId}: layer ${JSON.stringify(layer)} is not a layer of the stack`);
  const assetPath = resources[id].Metadata && resources[id].Metadata['aws:asset:path'];
  if (!assetPath) throw new Error(`${id}: no aws:asset:path metadata`);
  return path.join(cdkOut, assetPath);
}

function fail(message) {
  console.error(message);
  process.exit(1);
}

if (functions.length !== 2) fail(`expected 2 functions, got ${functions.length}`);

if (check === 'layers') {
  for (const [id, f] of functions) {
    const layers = f.Properties.Layers || [];
    if (layers.length !== 2) fail(`${id}: expected 2 layers, got ${layers.length}`);
    const nodeOptions = ((f.Properties.Environment || {}).Variables || {}).NODE_OPTIONS || '';
    if (!nodeOptions.includes(PRELOAD_OPTION)) fail(`${id}: NODE_OPTIONS does not load the preload: "${nodeOptions}"`);
  }
} else if (check === 'architectures') {
  const seen = [];
  for (const [id, f] of functions) {
    const architecture = (f.Properties.Architectures || ['x86_64'])[0];
    seen.push(architecture);
    const collectors = (f.Properties.Layers || [])
      .map((layer) => path.join(layerAssetDir(id, layer), 'extensions', 'otel-xray-collector'))
      .filter((file) => fs.existsSync(file));
    if (collectors.length !== 1) fail(`${id}: expected 1 collector layer, got ${collectors.length}`);
    const built = elfArchitecture(collectors[0]);
    if (built !== architecture) fail(`${id}: a ${architecture} function got a collector built for ${built || 'no known ELF machine'} (${collectors[0]})`);
  }
  if (seen.sort().join(',') !== 'arm64,x86_64') fail(`expected one x86_64 and one arm64 function, got ${seen.join(', ')}`);
} else {
  fail(`unknown check "${check}": use layers or architectures`);
}
