/**
 * Small DOM helpers: elements built with properties and children (text is always set as text,
 * never parsed as HTML), accessible tables and sections, number and date formatting.
 * @module
 */

/**
 * Creates an element. `attrs` keys starting with `on` add listeners; `class`, `for` and `aria-*`
 * become attributes; `null`, `undefined` and `false` children are skipped; strings become text.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(Node | string | number | null | undefined | false | Array<Node | string>)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), /** @type {EventListener} */ (v));
    else if (k in el && !k.startsWith('aria-') && k !== 'for' && k !== 'class' && k !== 'list') /** @type {any} */ (el)[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/** @param {HTMLElement} el @param {unknown[]} children */
function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let ids = 0;
/** A fresh element id. @param {string} prefix */
export const uid = (prefix) => `${prefix}-${++ids}`;

/**
 * A titled section (`<section aria-labelledby>` with an `<h2>`).
 * @param {string} title
 * @param {...unknown} children
 */
export function section(title, ...children) {
  const id = uid('s');
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), .../** @type {any[]} */ (children));
}

/**
 * An accessible table: a caption, column headers with `scope="col"`, one row per item.
 * @template T
 * @param {string} caption
 * @param {Array<{ label: string, num?: boolean, cell: (row: T) => unknown }>} columns
 * @param {T[]} rows
 * @param {string} [empty] - what to say when there are no rows
 */
export function table(caption, columns, rows, empty = 'None yet.') {
  if (rows.length === 0) return h('p', { class: 'empty' }, `${caption}: ${empty}`);
  return h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : undefined }, c.label)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'num' : undefined }, /** @type {any} */ (c.cell(r))))))));
}

/** A definition list of label → value pairs. @param {Array<[string, unknown]>} pairs */
export function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, /** @type {any} */ (v))]));
}

/** @param {number | null | undefined} n */
export const int = (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US'));

/** Bytes in B/kB/MB/GB (decimal). @param {number | null | undefined} n */
export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = Number(n);
  let u = 0;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return `${v.toLocaleString('en-US', { maximumFractionDigits: u === 0 ? 0 : 1 })} ${units[u]}`;
}

/** An ISO instant as `YYYY-MM-DD HH:MM UTC` in a `<time>`. @param {string | null | undefined} iso */
export function when(iso) {
  if (!iso) return '—';
  return h('time', { dateTime: iso }, `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`);
}

/** The first 12 hex digits of a hash, the whole in its title. @param {string} hash */
export const short = (hash) => h('code', { title: hash }, `${hash.slice(0, 12)}…`);

/** A coloured badge with a word (the word carries the meaning, not the colour). @param {string} text @param {'ok'|'bad'|'warn'|''} [tone] */
export const badge = (text, tone = '') => h('span', { class: `badge ${tone}` }, text);

/** The tone of a job state. @param {string} state @returns {'ok'|'bad'|'warn'|''} */
export const stateTone = (state) => (state === 'revealed' ? 'ok' : ['failed', 'cancelled', 'expired'].includes(state) ? 'bad' : 'warn');
