export { renderDriftHtml, renderDriftJson, formatNumber } from './html.js';
export { histogramSvg, sparklineSvg, escapeHtml } from './svg.js';
