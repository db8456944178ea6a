// A container-image function made by OtelTracedDockerImageFunction, run without Docker: the
// synthesized image asset (its Dockerfile, directory and named build contexts) is laid out as a
// filesystem the way the Dockerfile builds the image (each COPY done as Docker does it), and that
// filesystem runs in the Lambda emulator with the function's synthesized environment. Its trace
// is read back from moto's X-Ray.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  collectorConfigOverrides, CONTRACT, isLambdaFunctionSegment, LambdaService, RUNTIME_HOOK, runtimes, startMoto, synthesize, XRayTraceReader,
} from '../../tools/lambda-emulator/index.mjs';
import { E2E_DIR, json, keptLogs, WORK_ROOT } from './harness.mjs';
import { traceWith } from './support/xray-documents.mjs';

const APP = join(E2E_DIR, 'fixtures', 'image-app', 'image-app.ts');
const REGION = 'us-east-1';

/**
 * The image's filesystem, as `docker build` makes it from this Dockerfile: the Lambda base image
 * gives the runtime, `COPY --from=<context> <src> <dest>` copies from a named build context,
 * `COPY <src> <dest>` from the build directory, `CMD` names the handler. Any other instruction
 * is refused, so the scenario cannot silently differ from the image.
 */
function layOutImage({ directory, dockerfile, buildContexts }, root) {
  const image = { root, runtime: undefined, handler: undefined };
  const env = { LAMBDA_TASK_ROOT: '/var/task' };
  const expand = (s) => s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => env[a ?? b] ?? '');
  for (const raw of readFileSync(join(directory, dockerfile), 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [instruction, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (instruction === 'FROM') {
      const node = /^public\.ecr\.aws\/lambda\/nodejs:(\d+)/.exec(args);
      assert.ok(node, `FROM ${args}: only the Lambda Node.js base images are laid out here`);
      image.runtime = `nodejs${node[1]}.x`;
    } else if (instruction === 'COPY') {
      const words = rest.map(expand);
      const from = words[0].startsWith('--from=') ? words.shift().slice('--from='.length) : undefined;
      const dest = words.pop();
      // A named build context is relative to the image's directory, where `docker build` runs.
      const base = from === undefined ? directory : buildContexts[from] && resolve(directory, buildContexts[from]);
      assert.ok(base, `COPY --from=${from}: no build context of that name in the image asset`);
      for (const src of words) {
        const target = join(root, dest);
        mkdirSync(target, { recursive: true });
        // A directory's content goes into dest; a file goes into dest/ by its name.
        cpSync(join(base, src), src === '/' || src.endsWith('/') ? target : join(target, src.split('/').pop()), { recursive: true, verbatimSymlinks: true });
      }
    } else if (instruction === 'CMD') {
      image.handler = JSON.parse(args)[0];
    } else {
      assert.fail(`Dockerfile instruction ${instruction} is not laid out by this scenario`);
    }
  }
  return image;
}

describe('a container-image function made by OtelTracedDockerImageFunction', () => {
  let moto;
  let service;
  let reader;
  let fn;
  let image;
  before(async () => {
    const outdir = join(WORK_ROOT, 'image-cdk.out');
    await synthesize(APP, outdir);
    const template = JSON.parse(readFileSync(join(outdir, 'E2eImage.template.json'), 'utf8'));
    const [[, resource]] = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    assert.equal(resource.Properties.PackageType, 'Image');
    const assets = JSON.parse(readFileSync(join(outdir, 'E2eImage.assets.json'), 'utf8'));
    const [source] = Object.values(assets.dockerImages).map((a) => a.source);
    const root = join(WORK_ROOT, 'image-root');
    rmSync(root, { recursive: true, force: true });
    image = layOutImage({ directory: join(outdir, source.directory), dockerfile: source.dockerFile ?? 'Dockerfile', buildContexts: source.dockerBuildContexts }, root);

    moto = await startMoto();
    const { logs, onLog } = keptLogs();
    service = new LambdaService({
      workDir: join(WORK_ROOT, 'image'),
      runtimes: runtimes(),
      runtimeHook: RUNTIME_HOOK,
      onLog,
      xray: { endpoint: moto.endpoint, region: REGION, port: moto.port },
      environmentOverrides: (f, inside) => ({
        ...collectorConfigOverrides(f.environment, inside.optDir, inside.xrayEndpoint),
        DOWNSTREAM_URL: `${inside.xrayEndpoint}/`,
      }),
    });
    await service.start();
    service.logs = logs;
    fn = service.register({
      name: 'E2eImage-Api',
      runtime: image.runtime,
      handler: image.handler,
      timeoutSeconds: resource.Properties.Timeout,
      environment: resource.Properties.Environment.Variables,
      // What the image holds: /var/task, and /opt as the COPY lines laid it out (no layers).
      codeDir: join(root, 'var', 'task'),
      layerDirs: [join(root, 'opt')],
      activeTracing: resource.Properties.TracingConfig?.Mode === 'Active',
      region: REGION,
    });
    reader = new XRayTraceReader({ endpoint: moto.endpoint, region: REGION });
  });
  after(async () => {
    await service?.stop();
    reader?.destroy();
    await moto?.stop();
  });

  test('the image holds the collector and the preload where the function\'s environment looks for them', () => {
    const env = fn.environment;
    const importPath = /--import (\S+)/.exec(env.NODE_OPTIONS)?.[1];
    assert.ok(importPath, `NODE_OPTIONS ${env.NODE_OPTIONS} imports the preload`);
    assert.ok(existsSync(join(image.root, importPath)), `the image has no ${importPath}`);
    const configUri = env[CONTRACT.collector.env.configUri];
    assert.ok(existsSync(join(image.root, configUri.replace(/^file:/, ''))), `the image has no ${configUri}`);
    assert.ok(existsSync(join(image.root, CONTRACT.collector.layerExtensionPath)), 'the image has the collector extension');
    assert.equal(fn.activeTracing, true);
  });

  test('an invocation traces the handler under Lambda\'s function segment, with its fetch', async () => {
    const result = await service.invoke(fn.name, { name: 'Ada' });
    assert.equal(result.functionError, undefined, result.payload.toString());
    assert.equal(json(result).image, true);
    // Every document asserted on below, awaited: the collector's may reach X-Ray in more than one
    // call, and the Lambda service's own segments are written after the response.
    await result.done;
    const handlerOf = (nodes) => nodes.find((n) => n.kind === 'segment' && n.name === 'e2e-image-api');
    const trace = await traceWith(reader, result.traceId, {
      'Lambda\'s function segment': (nodes) => nodes.some((n) => isLambdaFunctionSegment(n)),
      'the handler segment e2e-image-api': (nodes) => handlerOf(nodes),
      'the fetch subsegment under the handler segment': (nodes) => nodes.some((n) => n.parentId === handlerOf(nodes)?.id && n.doc.http?.request?.url),
    }, { explain: () => service.logs.slice(-60).join('\n') });
    const nodes = trace.nodes;
    const explain = `\n${JSON.stringify(nodes.map((n) => ({ id: n.id, parent: n.parentId, name: n.name, kind: n.kind, origin: n.origin })), null, 1)}`;
    const functionSegment = nodes.find((n) => isLambdaFunctionSegment(n));
    assert.ok(functionSegment, `no function segment${explain}`);
    assert.equal(functionSegment.id, result.functionSegmentId);
    const handler = nodes.find((n) => n.kind === 'segment' && n.name === 'e2e-image-api');
    assert.ok(handler, `no handler segment named by the service name${explain}`);
    assert.equal(handler.parentId, functionSegment.id, `the handler is a child of Lambda's function segment${explain}`);
    assert.ok(nodes.some((n) => n.parentId === handler.id && n.doc.http?.request?.url), `the fetch is a subsegment of the handler${explain}`);
  });
});
