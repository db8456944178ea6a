// Turns X-Ray trace documents into a flat list of nodes and a tree.
// Segment and subsegment fields: https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html

/**
 * @typedef {object} TraceNode
 * @property {string} id
 * @property {string | undefined} parentId
 * @property {string} name
 * @property {'segment' | 'subsegment'} kind
 * @property {string | undefined} origin       e.g. AWS::Lambda, AWS::Lambda::Function
 * @property {string | undefined} namespace    `aws` or `remote` for calls out
 * @property {number} start                    epoch seconds
 * @property {number | undefined} end
 * @property {boolean} error
 * @property {boolean} fault
 * @property {object} doc                      the document, without nested subsegments
 */

/**
 * @param {{Id: string, Segments: {Id: string, Document: string}[]}} trace  a BatchGetTraces trace
 * @returns {{traceId: string, nodes: TraceNode[]}}
 */
export function flattenTrace(trace) {
  const nodes = [];
  for (const segment of trace.Segments ?? []) {
    const doc = JSON.parse(segment.Document);
    walk(doc, doc.parent_id, doc.type === 'subsegment' ? 'subsegment' : 'segment', doc.origin, nodes);
  }
  return { traceId: trace.Id, nodes };
}

function walk(doc, parentId, kind, origin, nodes) {
  const { subsegments, ...rest } = doc;
  nodes.push({
    id: doc.id,
    parentId,
    name: doc.name,
    kind,
    origin: kind === 'segment' ? doc.origin : undefined,
    namespace: doc.namespace,
    start: doc.start_time,
    end: doc.end_time,
    error: Boolean(doc.error),
    fault: Boolean(doc.fault),
    doc: rest,
  });
  for (const child of subsegments ?? []) walk(child, doc.id, 'subsegment', origin, nodes);
}

/**
 * @typedef {TraceNode & {children: TreeNode[], depth: number}} TreeNode
 */

/**
 * Builds the tree: nodes whose parent is not in the trace are roots. Children sort by start time.
 * @param {TraceNode[]} nodes
 * @returns {TreeNode[]}
 */
export function buildTree(nodes) {
  const byId = new Map();
  for (const node of nodes) {
    if (!byId.has(node.id)) byId.set(node.id, { ...node, children: [], depth: 0 });
  }
  const roots = [];
  for (const node of byId.values()) {
    const parent = node.parentId ? byId.get(node.parentId) : undefined;
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  const order = (list) => {
    list.sort((a, b) => a.start - b.start || (a.end ?? a.start) - (b.end ?? b.start));
    for (const n of list) order(n.children);
  };
  order(roots);
  const setDepth = (n, d) => {
    n.depth = d;
    for (const c of n.children) setDepth(c, d + 1);
  };
  for (const r of roots) setDepth(r, 0);
  return roots;
}

/** Depth-first list of a tree. */
export function depthFirst(roots) {
  const out = [];
  const visit = (n) => {
    out.push(n);
    for (const c of n.children) visit(c);
  };
  for (const r of roots) visit(r);
  return out;
}

/** A short label for what a node stands for: origin, namespace, and the call it made. */
export function describe(node) {
  const d = node.doc;
  if (node.origin === 'AWS::Lambda') return 'Lambda service';
  if (isLambdaFunctionSegment(node)) return 'Lambda function';
  if (node.namespace === 'aws') {
    const parts = [d.aws?.operation, d.aws?.table_name].filter(Boolean);
    const status = d.http?.response?.status;
    return `AWS SDK ${parts.join(' ')}${status ? ` → ${status}` : ''}`;
  }
  if (node.namespace === 'remote' || d.http?.request?.url) {
    const req = d.http?.request ?? {};
    const status = d.http?.response?.status;
    return `HTTP ${req.method ?? ''} ${req.url ?? ''}${status ? ` → ${status}` : ''}`.replace(/\s+/g, ' ').trim();
  }
  if (node.kind === 'segment') return 'handler';
  return 'span';
}

/** The category a node's bar is coloured by. */
export function category(node) {
  if (node.origin === 'AWS::Lambda') return 'lambda-service';
  if (isLambdaFunctionSegment(node)) return 'lambda-function';
  if (node.namespace === 'aws') return 'aws-sdk';
  if (node.namespace === 'remote' || node.doc.http?.request?.url) return 'http';
  if (node.kind === 'segment') return 'handler';
  return 'span';
}

/**
 * True for the AWS::Lambda::Function segment Lambda itself records, as opposed to the handler's
 * segment from an X-Ray SDK or the OpenTelemetry exporter, which carries `aws.xray.sdk`.
 */
export function isLambdaFunctionSegment(node) {
  return node.kind === 'segment' && node.origin === 'AWS::Lambda::Function' && !node.doc.aws?.xray;
}
