// Prints a trace as a tree with timings and a small waterfall bar per line, for a terminal.
import { buildTree, depthFirst, describe } from './trace-model.mjs';

const BAR_WIDTH = 24;
const LABEL_WIDTH = 64;

/**
 * @param {{traceId: string, nodes: import('./trace-model.mjs').TraceNode[]}} trace
 * @param {{color?: boolean}} [options]
 * @returns {string}
 */
export function renderTraceTree(trace, { color = false } = {}) {
  const roots = buildTree(trace.nodes);
  const rows = depthFirst(roots);
  if (rows.length === 0) return `Trace ${trace.traceId}: no segments\n`;
  const t0 = Math.min(...rows.map((n) => n.start));
  const t1 = Math.max(...rows.map((n) => n.end ?? n.start));
  const span = Math.max(t1 - t0, 1e-6);
  const ms = (s) => (s * 1000 < 1 && s > 0 ? (s * 1000).toFixed(2) : (s * 1000).toFixed(1));
  const paint = (code, text) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);

  const labels = [];
  const prefixes = [];
  const walk = (node, prefix, last, isRoot) => {
    const connector = isRoot ? '' : last ? '└─ ' : '├─ ';
    prefixes.push(`${prefix}${connector}`);
    labels.push(node);
    const childPrefix = isRoot ? '' : `${prefix}${last ? '   ' : '│  '}`;
    node.children.forEach((child, i) => walk(child, childPrefix, i === node.children.length - 1, false));
  };
  roots.forEach((r, i) => walk(r, '', i === roots.length - 1, true));

  const texts = labels.map((n, i) => `${prefixes[i]}${n.name} (${describe(n)})`);
  const width = Math.min(Math.max(...texts.map((t) => [...t].length)), LABEL_WIDTH);
  const lines = [paint('1', `Trace ${trace.traceId}  ${rows.length} segments and subsegments, ${ms(span)} ms`)];
  labels.forEach((n, i) => {
    const text = [...texts[i]].length > width ? `${[...texts[i]].slice(0, width - 1).join('')}…` : texts[i];
    const from = Math.floor(((n.start - t0) / span) * BAR_WIDTH);
    const to = Math.max(from + 1, Math.round((((n.end ?? n.start) - t0) / span) * BAR_WIDTH));
    const bar = ' '.repeat(from) + '█'.repeat(Math.min(to, BAR_WIDTH) - from) + ' '.repeat(Math.max(0, BAR_WIDTH - to));
    const timing = `at ${ms(n.start - t0).padStart(6)} ms, ${ms((n.end ?? n.start) - n.start).padStart(6)} ms`;
    const flag = n.fault || n.error ? paint('31', ' !') : '';
    lines.push(`${text.padEnd(width + (text.length - [...text].length))}  ${paint('36', `▕${bar}▏`)} ${timing}${flag}`);
  });
  return `${lines.join('\n')}\n`;
}
