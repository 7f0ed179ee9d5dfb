/**
 * Charts with uPlot (served from node_modules at /console/vendor/): a line chart over UTC days or
 * seconds, with a caption and, for screen readers and for people who would rather read, the same
 * numbers as a table in a `<details>`. A missing value (null) is a gap: a withheld day.
 * @module
 */
import uPlot from './vendor/uPlot.esm.js';
import { h, int } from './dom.js';

const COLORS = ['#1f5fa8', '#b34700', '#1b6e20', '#6a1b9a', '#8a6d00'];

/**
 * @param {{ title: string, caption: string, x: number[], xLabels: string[], series: Array<{ label: string, values: Array<number | null>, text?: (i: number) => string }>, time?: boolean, xName?: string, yLabel?: string, yMax?: number }} spec
 *   `x`: Unix seconds (time axis) or plain numbers; `xLabels`: how the table names each x
 * @returns {{ figure: HTMLElement, update: (x: number[], xLabels: string[], series: Array<Array<number | null>>) => void }}
 */
export function lineChart(spec) {
  const xName = spec.xName ?? (spec.time === false ? 'x' : 'day');
  const holder = h('div', { class: 'plot', role: 'img', 'aria-label': `${spec.title}. ${spec.caption}` });
  const width = Math.min(720, Math.max(320, (document.querySelector('main')?.clientWidth ?? 760) - 80));
  /** @type {import('uplot').Options} */
  const opts = {
    title: spec.title, width, height: 240,
    scales: { x: { time: spec.time !== false }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(spec.yMax ?? 0, max, 1)] } },
    axes: [{ stroke: '#1a1a1a', grid: { stroke: '#e1e6ec' } }, { stroke: '#1a1a1a', grid: { stroke: '#e1e6ec' }, label: spec.yLabel, size: 70 }],
    series: [{ label: xName }, ...spec.series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 2, points: { show: true, size: 5 }, spanGaps: false }))],
  };
  const plot = new uPlot(opts, [spec.x, ...spec.series.map((s) => s.values)], holder);
  const tableHolder = h('div');
  /** How the table writes point `i` of series `k`. @param {Array<number | null>} values @param {number} k @param {number} i */
  const cell = (values, k, i) => spec.series[k]?.text?.(i) ?? (values[i] === null ? 'withheld' : int(values[i]));
  const fill = (/** @type {string[]} */ labels, /** @type {Array<Array<number | null>>} */ values) => {
    tableHolder.replaceChildren(h('table', {},
      h('caption', {}, `${spec.title} (data)`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, xName), spec.series.map((s) => h('th', { scope: 'col', class: 'num' }, s.label)))),
      h('tbody', {}, labels.map((l, i) => h('tr', {}, h('th', { scope: 'row' }, l), values.map((v, k) => h('td', { class: 'num' }, cell(v, k, i))))))));
  };
  fill(spec.xLabels, spec.series.map((s) => s.values));
  const figure = h('figure', { class: 'chart' }, holder, h('figcaption', {}, spec.caption), h('details', {}, h('summary', {}, 'Show the numbers as a table'), tableHolder));
  return {
    figure,
    update(x, labels, series) {
      plot.setData([x, ...series]);
      fill(labels, series);
    },
  };
}

/** Unix seconds of `YYYY-MM-DD` (UTC midnight). @param {string} day */
export const daySeconds = (day) => Date.parse(`${day}T00:00:00Z`) / 1000;

/**
 * The abstention-rate series of an inference view: percent per day, a gap where nothing was
 * reported or the day is withheld, and the table says which.
 * @param {{ inferences: Array<number | null>, abstained: Array<number | null> }} inf
 * @returns {{ label: string, values: Array<number | null>, text: (i: number) => string }}
 */
export function abstentionSeries(inf) {
  const values = inf.inferences.map((n, i) => (n === null || n === 0 ? null : Math.round((1000 * Number(inf.abstained[i])) / n) / 10));
  return {
    label: 'abstained %', values,
    text: (i) => (inf.inferences[i] === null ? 'withheld' : inf.inferences[i] === 0 ? 'no reports' : `${values[i]} % (${int(inf.abstained[i])} of ${int(inf.inferences[i])})`),
  };
}
