// Reads a synthesized cloud assembly (cdk.out) and describes what Lambda would run: every
// AWS::Lambda::Function with its handler, runtime, environment, code asset and layer assets,
// and the DynamoDB tables it refers to.
// Cloud assembly manifest: https://github.com/aws/aws-cdk-cli/tree/main/packages/%40aws-cdk/cloud-assembly-schema
// Template properties: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-function.html
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * @typedef {object} AssemblyFunction
 * @property {string} name              `<stack>-<construct id>`, from aws:cdk:path
 * @property {string} logicalId
 * @property {string} handler
 * @property {string} runtime
 * @property {number} memorySize
 * @property {number} timeoutSeconds
 * @property {Record<string, string>} environment   with references resolved
 * @property {string} codeDir
 * @property {string[]} layerDirs
 * @property {boolean} activeTracing
 * @property {'JSON'|'Text'} [logFormat]          LoggingConfig.LogFormat
 * @property {string} [applicationLogLevel]       LoggingConfig.ApplicationLogLevel
 * @property {string} [logGroup]                  LoggingConfig.LogGroup, when a plain name
 *
 * @typedef {object} AssemblyTable
 * @property {string} name
 * @property {object[]} keySchema
 * @property {object[]} attributeDefinitions
 */

/**
 * @param {string} outdir   the cdk.out directory
 * @param {{functionUrl: (functionName: string) => string}} resolvers  what deployed-only values become locally
 * @param {{assets?: boolean}} [options]   assets: false reads templates only (codeDir undefined,
 *   layerDirs empty), for an app synthesized without bundling
 * @returns {{functions: AssemblyFunction[], tables: AssemblyTable[]}}
 */
export function readCloudAssembly(outdir, resolvers, { assets = true } = {}) {
  const manifestPath = join(outdir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new Error(`${manifestPath} is missing: synthesize the app first (cdk synth, or app.synth() with CDK_OUTDIR=${outdir})`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const functions = [];
  const tables = [];
  for (const [artifactId, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const template = JSON.parse(readFileSync(join(outdir, artifact.properties.templateFile), 'utf8'));
    const stack = new StackReader(artifactId, template, outdir, resolvers, assets);
    functions.push(...stack.functions());
    tables.push(...stack.tables());
  }
  return { functions, tables };
}

/** The logging settings of LoggingConfig the runtime sees (a log group made by the app is a reference: the default name stays). */
function loggingOf(config) {
  const logging = {};
  if (config?.LogFormat) logging.logFormat = config.LogFormat;
  if (config?.ApplicationLogLevel) logging.applicationLogLevel = config.ApplicationLogLevel;
  if (typeof config?.LogGroup === 'string') logging.logGroup = config.LogGroup;
  return logging;
}

class StackReader {
  constructor(stackName, template, outdir, resolvers, assets) {
    this.stackName = stackName;
    this.assets = assets;
    this.resources = template.Resources ?? {};
    this.outdir = outdir;
    this.resolvers = resolvers;
  }

  functions() {
    return this.#ofType('AWS::Lambda::Function').map(([logicalId, resource]) => {
      const p = resource.Properties ?? {};
      const where = `${this.stackName}/${logicalId}`;
      const environment = {};
      for (const [key, value] of Object.entries(p.Environment?.Variables ?? {})) {
        environment[key] = this.resolve(value, `${where} environment variable ${key}`);
      }
      return {
        name: this.nameOf(logicalId),
        logicalId,
        handler: p.Handler,
        runtime: p.Runtime,
        memorySize: p.MemorySize ?? 128,
        timeoutSeconds: p.Timeout ?? 3,
        environment,
        codeDir: this.assets ? this.assetDir(logicalId, where) : undefined,
        layerDirs: !this.assets ? [] : (p.Layers ?? []).map((layer, i) => {
          const layerId = layer?.Ref;
          if (!layerId || this.resources[layerId]?.Type !== 'AWS::Lambda::LayerVersion') {
            throw new Error(`${where}: Layers[${i}] ${JSON.stringify(layer)} is not a layer of this stack: only layers built by the app can run locally`);
          }
          return this.assetDir(layerId, `${where} Layers[${i}]`);
        }),
        activeTracing: p.TracingConfig?.Mode === 'Active',
        ...loggingOf(p.LoggingConfig),
      };
    });
  }

  tables() {
    return this.#ofType('AWS::DynamoDB::Table').map(([logicalId, resource]) => ({
      name: this.nameOf(logicalId),
      keySchema: resource.Properties.KeySchema,
      attributeDefinitions: resource.Properties.AttributeDefinitions,
    }));
  }

  /** The deployed name: the explicit one, else `<stack>-<construct id>` for readable traces. */
  nameOf(logicalId) {
    const resource = this.resources[logicalId];
    const explicit = resource.Properties?.FunctionName ?? resource.Properties?.TableName;
    if (typeof explicit === 'string') return explicit;
    const cdkPath = resource.Metadata?.['aws:cdk:path'];
    const constructId = typeof cdkPath === 'string' ? cdkPath.split('/').slice(1, -1).join('-') : logicalId;
    return `${this.stackName}-${constructId}`.slice(0, 64);
  }

  assetDir(logicalId, where) {
    const assetPath = this.resources[logicalId].Metadata?.['aws:asset:path'];
    if (!assetPath) throw new Error(`${where}: resource ${logicalId} has no aws:asset:path metadata: synthesize with asset metadata on (the default)`);
    const dir = join(this.outdir, assetPath);
    if (!existsSync(dir)) throw new Error(`${where}: asset directory ${dir} is missing: synthesize again`);
    return dir;
  }

  /** Resolves the intrinsic functions a function environment uses in this app's templates. */
  resolve(value, where) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (value && typeof value === 'object') {
      if ('Ref' in value) {
        const target = this.resources[value.Ref];
        if (target && ['AWS::Lambda::Function', 'AWS::DynamoDB::Table'].includes(target.Type)) return this.nameOf(value.Ref);
        if (value.Ref === 'AWS::Region') return 'us-east-1';
        if (value.Ref === 'AWS::AccountId') return '123456789012';
        if (value.Ref === 'AWS::URLSuffix') return 'amazonaws.com';
        if (value.Ref === 'AWS::Partition') return 'aws';
      }
      if ('Fn::GetAtt' in value) {
        const [id, attribute] = value['Fn::GetAtt'];
        const target = this.resources[id];
        if (target?.Type === 'AWS::Lambda::Url' && attribute === 'FunctionUrl') {
          const fnRef = target.Properties.TargetFunctionArn?.['Fn::GetAtt']?.[0] ?? target.Properties.TargetFunctionArn?.Ref;
          return this.resolvers.functionUrl(this.nameOf(fnRef));
        }
        if (target?.Type === 'AWS::DynamoDB::Table' && attribute === 'Arn') return `arn:aws:dynamodb:us-east-1:123456789012:table/${this.nameOf(id)}`;
      }
      if ('Fn::Join' in value) {
        const [separator, parts] = value['Fn::Join'];
        return parts.map((part) => this.resolve(part, where)).join(separator);
      }
    }
    throw new Error(`${where}: ${JSON.stringify(value)} cannot be resolved locally: use a plain value, a Ref to a function or table, or a function URL`);
  }

  #ofType(type) {
    return Object.entries(this.resources).filter(([, r]) => r.Type === type);
  }
}
