// Generates, from contract/contract.json (the endpoint, paths, environment names and defaults
// shared by the construct, the preload and the collector) and from collector-go/config/config.yaml
// (the collector's default configuration):
//   lib/contract.generated.ts                      the contract, for the construct
//   lib/default-collector-config.generated.ts      the default configuration, for the construct
//   layer-src/src/contract.generated.mjs           the part of the contract the preload reads
//   collector-go/internal/contract/contract.go     the collector's part of the contract, for Go
//
//   node scripts/gen-contract.mjs            writes the files
//   node scripts/gen-contract.mjs --check    writes nothing; exits 1 naming every file that differs
//
// Every field of the contract needs a description below: it becomes the generated doc comment.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONTRACT_FILE = 'contract/contract.json';
const DEFAULT_CONFIG_FILE = 'collector-go/config/config.yaml';
const GENERATOR = 'scripts/gen-contract.mjs';

/** The generated files, relative to the repository. */
export const GENERATED_FILES = {
  ts: 'lib/contract.generated.ts',
  defaultConfig: 'lib/default-collector-config.generated.ts',
  preload: 'layer-src/src/contract.generated.mjs',
  go: 'collector-go/internal/contract/contract.go',
};

/** One sentence per field of contract.json, by its path. */
const DESCRIPTIONS = {
  'collector.extensionName': "The collector extension's name: its file name under `/opt/extensions` and the name it registers with Lambda.",
  'collector.otlpHttpListen': "The address the collector's OTLP/HTTP receiver listens on: loopback only.",
  'collector.otlpHttpEndpoint': "The collector's OTLP/HTTP endpoint, as the function's SDK sends to it.",
  'collector.otlpTracesPath': 'The path of OTLP/HTTP trace exports, appended to the endpoint.',
  'collector.layerExtensionPath': "Where the collector layer's extension binary lands in the function.",
  'collector.layerConfigPath': "Where the collector layer's default configuration lands in the function.",
  'collector.maxRequestBodyBytes': "The largest OTLP request body the collector's receiver accepts; larger ones get HTTP 413.",
  'collector.invocationSpanCountAttribute': "The attribute of the handler invocation's span in which the preload counts the spans of the invocation ended with it (the span included): the collector knows the invocation complete once that many of its trace are in, and removes the attribute before export.",
  'collector.invocationOpenSpansAttribute': "The attribute of the handler invocation's span in which the preload counts the spans of its trace still open when it ended (work the handler left running): the collector waits a short while for them, and removes the attribute before export.",
  'collector.env.configUri': "The environment variable holding the collector's configuration URI (confmap `file:`, `env:` or `yaml:`).",
  'collector.env.flushTimeout': 'The environment variable holding how long the collector may export after each invocation (a Go duration).',
  'collector.env.logLevel': "The environment variable holding the collector's log level.",
  'collector.env.telemetryListen': "The environment variable holding the address of the collector's Telemetry API listener.",
  'collector.env.maxBufferedSpans': 'The environment variable holding how many spans the collector buffers at most.',
  'collector.env.onStartupFailure': 'The environment variable saying what the collector does when it cannot start.',
  'collector.defaults.flushTimeoutMs': 'How long the collector may export after each invocation, unless its environment says otherwise.',
  'collector.defaults.logLevel': "The collector's log level, unless its environment says otherwise.",
  'collector.defaults.maxBufferedSpans': 'How many spans the collector buffers at most, unless its environment says otherwise.',
  'collector.defaults.onStartupFailure': 'What the collector does when it cannot start, unless its environment says otherwise: keep the function running untraced.',
  'preload.importPath': 'The file `NODE_OPTIONS=--import` loads: the preload in its layer.',
  'preload.env.otlpEndpoint': 'The OpenTelemetry variable holding the OTLP endpoint the preload exports to.',
  'preload.env.enabledInstrumentations': 'The OpenTelemetry variable listing the instrumentations the preload loads.',
  'preload.env.serviceName': "The OpenTelemetry variable holding the service name of the function's spans.",
  'preload.env.logCorrelation': "The variable that turns off (`false`) the trace and span IDs the preload adds to each console line of a traced invocation.",
};

/** Values made from the contract's fields, for the places that use them combined. */
function derivedConstants(contract) {
  const { collector } = contract;
  return [
    {
      path: 'collector.defaultConfigUri',
      description: "The collector's configuration URI when its environment names none: the layer's default file.",
      value: `file:${collector.layerConfigPath}`,
      go: '"file:" + LayerConfigPath',
    },
    {
      path: 'collector.otlpTracesUrl',
      description: "The URL the function's SDK sends traces to by default: the collector's endpoint and the traces path.",
      value: `${collector.otlpHttpEndpoint}${collector.otlpTracesPath}`,
      go: 'OTLPHTTPEndpoint + OTLPTracesPath',
    },
  ];
}

/** The constants of the preload's file: its own section, and where the collector listens. */
const PRELOAD_CONSTANTS = /^(preload\.|collector\.otlpHttpEndpoint$|collector\.otlpTracesUrl$|collector\.invocationSpanCountAttribute$|collector\.invocationOpenSpansAttribute$)/;

/**
 * What the collector's Go package holds: its own section, and the preload's import path (whose
 * presence in NODE_OPTIONS tells the collector that the function's spans come counted).
 */
const GO_CONSTANTS = /^(collector\.|preload\.importPath$)/;

/** Go initialisms in constant names (https://go.dev/wiki/CodeReviewComments#initialisms). */
const GO_INITIALISMS = new Set(['otlp', 'http', 'uri', 'url', 'id', 'api']);

/** Every leaf of the contract, with its path and a description, then the derived values. */
function constants(contract) {
  const leaves = [];
  const walk = (value, keys) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, child] of Object.entries(value)) {
        if (!key.startsWith('$')) walk(child, [...keys, key]);
      }
      return;
    }
    const where = keys.join('.');
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      throw new Error(`${CONTRACT_FILE}: ${where} is ${JSON.stringify(value)}; the contract holds strings, numbers and booleans only.`);
    }
    if (keys.length < 2) {
      throw new Error(`${CONTRACT_FILE}: ${where} is outside a section; put it under "collector" or "preload".`);
    }
    const description = DESCRIPTIONS[where];
    if (description === undefined) {
      throw new Error(`${CONTRACT_FILE}: ${where} has no description; add one to DESCRIPTIONS in ${GENERATOR}.`);
    }
    leaves.push({ path: where, description, value });
  };
  walk(contract, []);
  const stale = Object.keys(DESCRIPTIONS).filter((where) => !leaves.some((leaf) => leaf.path === where));
  if (stale.length > 0) {
    throw new Error(`${GENERATOR}: DESCRIPTIONS names ${stale.join(', ')}, which ${CONTRACT_FILE} does not hold; remove them.`);
  }
  return [...leaves, ...derivedConstants(contract)];
}

/** `camelCase` words, lower case. */
const words = (key) => key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(' ');

/**
 * The TypeScript and JavaScript name: section, then the field, `_ENV` for an environment
 * name, `DEFAULT_` for a default. E.g. collector.env.configUri -> COLLECTOR_CONFIG_URI_ENV.
 */
function jsName(where) {
  const [section, ...rest] = where.split('.');
  const field = rest.at(-1);
  const group = rest.length > 1 ? rest[0] : undefined;
  const parts = [section, ...(group === 'defaults' ? ['default'] : []), ...words(field), ...(group === 'env' ? ['env'] : [])];
  if (group !== undefined && !['env', 'defaults'].includes(group)) {
    throw new Error(`${CONTRACT_FILE}: ${where}: groups of a section are "env" and "defaults"; name it by its section.`);
  }
  return parts.join('_').toUpperCase();
}

/**
 * The Go name, within the collector's package: `Env...` for an environment name, `Default...`
 * for a default; a duration in milliseconds (`...Ms`) becomes a time.Duration without the unit.
 */
function goName(where) {
  const [section, ...rest] = where.split('.');
  const field = rest.at(-1);
  const group = rest.length > 1 ? rest[0] : undefined;
  const fieldWords = words(field);
  if (isMillis(where)) fieldWords.pop();
  // The collector's own values go bare; another section's are named by it (PreloadImportPath).
  const sectionName = section === 'collector' ? '' : section[0].toUpperCase() + section.slice(1);
  const prefix = (group === 'env' ? 'Env' : group === 'defaults' ? 'Default' : '') + sectionName;
  return prefix + fieldWords.map((w) => (GO_INITIALISMS.has(w) ? w.toUpperCase() : w[0].toUpperCase() + w.slice(1))).join('');
}

const isMillis = (where) => /Ms$/.test(where);

/** A comment block of lines at most `width` wide. */
function comment(text, indent, marker, width = 100) {
  const lines = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && indent.length + marker.length + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  lines.push(line);
  return lines.map((l) => `${indent}${marker}${l}`);
}

const jsDoc = (text) => (text.length + 8 <= 100 ? [`/** ${text} */`] : ['/**', ...comment(text, '', ' * '), ' */']);

const jsLiteral = (value) => (typeof value === 'string' ? `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : String(value));

function renderTs(all) {
  const lines = [
    `// Generated from ${CONTRACT_FILE} by ${GENERATOR}; do not edit.`,
    '// The values the construct shares with the preload and the collector.',
    '',
  ];
  for (const c of all) {
    lines.push(...jsDoc(c.description), `export const ${jsName(c.path)} = ${jsLiteral(c.value)};`, '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function renderPreload(all) {
  const lines = [
    `// Generated from ${CONTRACT_FILE} by ${GENERATOR}; do not edit.`,
    '// The values the preload shares with the construct and the collector; esbuild inlines them.',
    '',
  ];
  for (const c of all.filter((c) => PRELOAD_CONSTANTS.test(c.path))) {
    lines.push(...jsDoc(c.description), `export const ${jsName(c.path)} = ${jsLiteral(c.value)};`, '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function goValue(c) {
  if (c.go !== undefined) return c.go;
  if (isMillis(c.path)) {
    if (!Number.isInteger(c.value)) throw new Error(`${CONTRACT_FILE}: ${c.path} is ${c.value}; give whole milliseconds.`);
    return c.value % 1000 === 0 ? `${c.value / 1000} * time.Second` : `${c.value} * time.Millisecond`;
  }
  return typeof c.value === 'string' ? JSON.stringify(c.value) : String(c.value);
}

function renderGo(all) {
  const goConstants = all.filter((c) => GO_CONSTANTS.test(c.path));
  const usesTime = goConstants.some((c) => isMillis(c.path));
  const specs = goConstants.map((c) => {
    const name = goName(c.path);
    // Go doc comments start with the name (https://go.dev/doc/comment).
    const description = `${name} is ${c.description[0].toLowerCase()}${c.description.slice(1)}`;
    return [...comment(description, '\t', '// '), `\t${name} = ${goValue(c)}`].join('\n');
  });
  return [
    `// Code generated by ${GENERATOR} from ${CONTRACT_FILE}. DO NOT EDIT.`,
    '',
    '// Package contract holds the values the collector shares with the construct',
    '// and the preload: its extension name, listen address, paths, environment',
    '// variables and defaults.',
    'package contract',
    '',
    ...(usesTime ? ['import "time"', ''] : []),
    'const (',
    specs.join('\n\n'),
    ')',
    '',
  ].join('\n');
}

/** A TypeScript object literal in the project's style: identifier keys bare, single quotes. */
function tsObject(value, indent = '') {
  if (Array.isArray(value)) {
    return `[${value.map((v) => tsObject(v, indent)).join(', ')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const inner = `${indent}  `;
    const entries = Object.entries(value).map(([key, v]) => {
      const name = /^[A-Za-z_$][\w$]*$/.test(key) ? key : jsLiteral(key);
      return `${inner}${name}: ${tsObject(v, inner)},`;
    });
    return entries.length === 0 ? '{}' : `{\n${entries.join('\n')}\n${indent}}`;
  }
  if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) {
    return value === null ? 'null' : jsLiteral(value);
  }
  throw new Error(`${DEFAULT_CONFIG_FILE}: cannot represent ${JSON.stringify(value)}`);
}

function renderDefaultConfig(config) {
  return [
    `// Generated from ${DEFAULT_CONFIG_FILE} by ${GENERATOR}; do not edit.`,
    '',
    '/**',
    " * The collector's default configuration: the file the collector layer installs, as an object.",
    ' * A function whose exporter differs gets this configuration with the exporter overlaid.',
    ' */',
    `export const DEFAULT_COLLECTOR_CONFIG = ${tsObject(config)} as const;`,
    '',
  ].join('\n');
}

/**
 * The default configuration, checked against the contract: its receiver is the one the
 * function's SDK and the construct expect.
 */
function readDefaultConfig(contract) {
  const config = parseYaml(fs.readFileSync(path.join(repo, DEFAULT_CONFIG_FILE), 'utf8'));
  const http = config?.receivers?.otlp?.protocols?.http;
  const expected = {
    endpoint: contract.collector.otlpHttpListen,
    max_request_body_size: contract.collector.maxRequestBodyBytes,
  };
  for (const [key, value] of Object.entries(expected)) {
    if (http?.[key] !== value) {
      throw new Error(
        `${DEFAULT_CONFIG_FILE}: receivers.otlp.protocols.http.${key} is ${JSON.stringify(http?.[key])}, ` +
        `but ${CONTRACT_FILE} says ${JSON.stringify(value)}; make them agree.`,
      );
    }
  }
  return config;
}

/** The content of every generated file, by its path. */
export function generate() {
  const contract = JSON.parse(fs.readFileSync(path.join(repo, CONTRACT_FILE), 'utf8'));
  const all = constants(contract);
  return {
    [GENERATED_FILES.ts]: renderTs(all),
    [GENERATED_FILES.defaultConfig]: renderDefaultConfig(readDefaultConfig(contract)),
    [GENERATED_FILES.preload]: renderPreload(all),
    [GENERATED_FILES.go]: renderGo(all),
  };
}

function main(args) {
  const check = args.includes('--check');
  const unknown = args.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    console.error(`unknown argument ${unknown.join(' ')}; usage: node ${GENERATOR} [--check]`);
    return 2;
  }
  const files = generate();
  const differing = [];
  for (const [file, content] of Object.entries(files)) {
    const target = path.join(repo, file);
    const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : undefined;
    if (current === content) continue;
    if (check) {
      differing.push(file);
    } else {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content);
      console.log(`wrote ${file}`);
    }
  }
  if (differing.length > 0) {
    console.error(`not generated from ${CONTRACT_FILE} and ${DEFAULT_CONFIG_FILE} as they are now: ${differing.join(', ')}; run \`node ${GENERATOR}\`.`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    console.error(e.message);
    process.exitCode = 1;
  }
}
