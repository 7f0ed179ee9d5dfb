/**
 * Page-wide pieces the pages share: the live status region and cleanups of live views (timers)
 * that run when the page is left.
 * @module
 */

/** @type {Array<() => void>} */
let leaving = [];

/**
 * Says something in the live region (screen readers announce it).
 * @param {string} text @param {boolean} [error]
 */
export function say(text, error = false) {
  const el = /** @type {HTMLElement} */ (document.getElementById('status'));
  el.textContent = text;
  el.className = error ? 'status error' : 'status';
}

/** Registers a cleanup for when the page is left. @param {() => void} fn */
export function onLeave(fn) {
  leaving.push(fn);
}

/** Runs and forgets the cleanups (the router calls it on every navigation). */
export function leave() {
  for (const fn of leaving) fn();
  leaving = [];
}

/**
 * Calls `fn` every `ms` until the page is left or `fn` returns false.
 * @param {() => Promise<boolean>} fn @param {number} ms
 */
export function every(fn, ms) {
  let stopped = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const tick = async () => {
    if (stopped) return;
    let again = true;
    try { again = await fn(); } catch { again = true; }
    if (again && !stopped) timer = setTimeout(tick, ms);
  };
  timer = setTimeout(tick, ms);
  onLeave(() => { stopped = true; clearTimeout(timer); });
}
