// Draws a trace as an SVG waterfall: one row per segment or subsegment, indented by nesting,
// a bar on a shared time axis coloured by what the row stands for, and its duration.
import { buildTree, category, depthFirst, describe } from './trace-model.mjs';

const COLORS = {
  'lambda-service': { fill: '#ff9900', label: 'Lambda service (AWS::Lambda)' },
  'lambda-function': { fill: '#ec7211', label: 'Lambda function (AWS::Lambda::Function)' },
  handler: { fill: '#2e73b8', label: 'Handler (OpenTelemetry)' },
  span: { fill: '#7aa6d8', label: 'Custom span' },
  http: { fill: '#2ca02c', label: 'HTTP call' },
  'aws-sdk': { fill: '#8c4fc9', label: 'AWS SDK call' },
};

/** Milliseconds with one decimal, or two below 1 ms so short spans do not read as 0. */
export const formatMs = (ms) => `${ms < 1 ? ms.toFixed(2) : ms.toFixed(1)} ms`;

const truncate = (text, max) => (max <= 1 ? '' : text.length > max ? `${text.slice(0, max - 1)}…` : text);

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/** A tick step of 1, 2 or 5 × 10^n ms giving about `count` ticks. */
function tickStep(totalMs, count = 8) {
  const raw = totalMs / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw) ?? power * 10;
}

/**
 * @param {{traceId: string, nodes: import('./trace-model.mjs').TraceNode[]}} trace
 * @param {{title?: string}} [options]
 * @returns {string} an SVG document
 */
export function renderWaterfallSvg(trace, { title = 'X-Ray trace' } = {}) {
  const rows = depthFirst(buildTree(trace.nodes));
  const t0 = Math.min(...rows.map((n) => n.start));
  const t1 = Math.max(...rows.map((n) => n.end ?? n.start));
  const totalMs = Math.max((t1 - t0) * 1000, 0.001);

  const width = 1280;
  const labelWidth = 430;
  const chartX = labelWidth + 20;
  const chartWidth = width - chartX - 110;
  const rowHeight = 28;
  const headerHeight = 92;
  const legendHeight = 40;
  const height = headerHeight + rows.length * rowHeight + legendHeight + 24;
  const x = (seconds) => chartX + ((seconds - t0) * 1000 / totalMs) * chartWidth;

  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="20" y="32" font-size="20" font-weight="600" fill="#16191f">${escape(title)}</text>`);
  out.push(`<text x="20" y="54" font-size="13" fill="#545b64">Trace ${escape(trace.traceId)} · ${rows.length} segments and subsegments · ${formatMs(totalMs)} end to end</text>`);

  // Time axis with grid lines.
  const step = tickStep(totalMs);
  const axisY = headerHeight - 10;
  for (let t = 0; t <= totalMs + 1e-9; t += step) {
    const px = chartX + (t / totalMs) * chartWidth;
    out.push(`<line x1="${px.toFixed(1)}" y1="${axisY}" x2="${px.toFixed(1)}" y2="${headerHeight + rows.length * rowHeight}" stroke="#e9ebed" stroke-width="1"/>`);
    out.push(`<text x="${px.toFixed(1)}" y="${axisY - 6}" font-size="11" fill="#687078" text-anchor="middle">${Number(t.toFixed(3))} ms</text>`);
  }

  rows.forEach((node, i) => {
    const y = headerHeight + i * rowHeight;
    if (i % 2 === 0) out.push(`<rect x="0" y="${y}" width="${width}" height="${rowHeight}" fill="#f8f9fa"/>`);
    const indent = 20 + node.depth * 16;
    const kind = category(node);
    const color = COLORS[kind].fill;
    const failed = node.fault || node.error;
    // About 7.2 px per character at 13 px and 6 px at 11 px: keep the label column clear of the bars.
    const room = labelWidth - indent - 14;
    const label = truncate(node.name, Math.floor(room / 7.2));
    const detail = truncate(describe(node), Math.floor((room - label.length * 7.2 - 8) / 6));
    out.push(`<circle cx="${indent + 4}" cy="${y + rowHeight / 2}" r="4" fill="${color}"/>`);
    out.push(`<text x="${indent + 14}" y="${y + 18}" font-size="13" fill="#16191f">${escape(label)}${detail ? `<tspan dx="8" fill="#687078" font-size="11">${escape(detail)}</tspan>` : ''}</text>`);
    const bx = x(node.start);
    const bw = Math.max(2, x(node.end ?? node.start) - bx);
    const durationMs = ((node.end ?? node.start) - node.start) * 1000;
    out.push(`<rect x="${bx.toFixed(1)}" y="${y + 6}" width="${bw.toFixed(1)}" height="${rowHeight - 12}" rx="3" fill="${color}"${failed ? ' stroke="#d13212" stroke-width="2"' : ''}><title>${escape(`${node.name}: ${describe(node)}, starts at ${((node.start - t0) * 1000).toFixed(2)} ms, lasts ${durationMs.toFixed(2)} ms`)}</title></rect>`);
    out.push(`<text x="${(bx + bw + 6).toFixed(1)}" y="${y + 18}" font-size="11" fill="#414750">${formatMs(durationMs)}</text>`);
  });

  // Legend.
  let lx = 20;
  const ly = headerHeight + rows.length * rowHeight + 28;
  for (const { fill, label } of Object.values(COLORS)) {
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" rx="2" fill="${fill}"/>`);
    out.push(`<text x="${lx + 18}" y="${ly}" font-size="12" fill="#414750">${escape(label)}</text>`);
    lx += 18 + label.length * 6.6 + 22;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
