/**
 * The console: login, the role-based navigation and a hash router (`#/builder`, `#/plant`,
 * `#/auditor`, and detail pages). Plain ES modules, no build step, no framework.
 * @module
 */
import { api, ApiError, session, setSession } from './api.js';
import { h } from './dom.js';
import { builderPage, jobPage, modelPage } from './pages/builder.js';
import { plantPage } from './pages/plant.js';
import { auditorPage } from './pages/auditor.js';
import { leave, say } from './ui.js';

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
const who = /** @type {HTMLElement} */ (document.getElementById('who'));

/** The console's sections: which role sees which page. */
const SECTIONS = [
  { role: 'machine_builder', path: '#/builder', label: 'Machine builder' },
  { role: 'plant_admin', path: '#/plant', label: 'Plant admin' },
  { role: 'auditor', path: '#/auditor', label: 'Auditor' },
];

function renderChrome() {
  const s = session();
  nav.replaceChildren();
  who.replaceChildren();
  if (!s) return;
  const here = location.hash.split('/').slice(0, 2).join('/');
  nav.append(h('ul', {}, SECTIONS.filter((x) => s.roles.includes(x.role)).map((x) =>
    h('li', {}, h('a', { href: x.path, 'aria-current': here === x.path ? 'page' : undefined }, x.label)))));
  who.append(
    h('span', {}, `${s.subject} in `, h('strong', {}, s.tenant)),
    h('button', { type: 'button', onclick: () => { setSession(null); say('Signed out.'); location.hash = '#/login'; } }, 'Sign out'),
  );
}

function loginPage() {
  const user = h('input', { id: 'login-user', name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const tenant = h('input', { id: 'login-tenant', name: 'tenant', required: true, pattern: '[a-z0-9][a-z0-9\\-]{0,47}', 'aria-describedby': 'login-tenant-help' });
  const submit = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit' }, 'Sign in'));
  const form = h('form', { class: 'login', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'Sign in'),
    h('label', { for: 'login-user' }, 'User name'), user,
    h('label', { for: 'login-password' }, 'Password'), pass,
    h('label', { for: 'login-tenant' }, 'Tenant'), tenant,
    h('p', { id: 'login-tenant-help', class: 'note' }, 'Your plant or company as the cloud knows it, e.g. plant-a or builder.'),
    submit,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    try {
      const t = await api('/v1/auth/token', { method: 'POST', body: { username: /** @type {HTMLInputElement} */ (user).value, password: /** @type {HTMLInputElement} */ (pass).value } });
      const me = await api(`/v1/tenants/${encodeURIComponent(/** @type {HTMLInputElement} */ (tenant).value)}/me`, { token: t.accessToken });
      const roles = me.roles.filter((/** @type {string} */ r) => SECTIONS.some((x) => x.role === r));
      if (roles.length === 0) throw new ApiError(403, 'CLOUD_ERR_ACCESS_DENIED', `no console role in tenant ${me.tenant}`);
      setSession({ token: t.accessToken, expiresAt: t.expiresAt, subject: me.subject, tenant: me.tenant, roles });
      say(`Signed in as ${me.subject} in ${me.tenant}.`);
      location.hash = SECTIONS.find((x) => roles.includes(x.role))?.path ?? '#/';
    } catch (err) {
      const e2 = /** @type {ApiError} */ (err);
      say(e2.status === 403 ? `Cannot sign in: you hold no console role (plant admin, machine builder, auditor) in tenant ${/** @type {HTMLInputElement} */ (tenant).value}.` : `Cannot sign in: ${e2.message}`, true);
      submit.disabled = false;
      pass.focus();
    }
  });
  main.replaceChildren(form);
  user.focus();
}

async function route() {
  leave();
  const s = session();
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  renderChrome();
  if (!s || parts[0] === 'login' || parts[0] === '') {
    if (s && parts[0] !== 'login') { location.hash = SECTIONS.find((x) => s.roles.includes(x.role))?.path ?? '#/login'; return; }
    document.title = 'Sign in · hedge console';
    loginPage();
    return;
  }
  const pages = /** @type {Record<string, (args: string[]) => Promise<HTMLElement>>} */ ({
    builder: (a) => (a[0] === 'jobs' ? jobPage(a[1]) : a[0] === 'models' ? modelPage(a[1]) : builderPage()),
    plant: () => plantPage(),
    auditor: () => auditorPage(),
  });
  const page = pages[parts[0]];
  if (!page) { main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, 'No such page.')); return; }
  main.replaceChildren(h('p', { class: 'note' }, 'Loading…'));
  main.setAttribute('aria-busy', 'true');
  try {
    const el = await page(parts.slice(1));
    main.replaceChildren(el);
    const title = main.querySelector('h1')?.textContent ?? 'hedge';
    document.title = `${title} · hedge console`;
  } catch (err) {
    const e2 = /** @type {ApiError} */ (err);
    main.replaceChildren(h('h1', {}, 'Cannot show this page'), h('p', { class: 'bad' }, `${e2.code ?? 'error'}: ${e2.message}`));
  } finally {
    main.removeAttribute('aria-busy');
    main.focus();
  }
}

window.addEventListener('hashchange', route);
window.addEventListener('hedge:logout', () => { say('Your session ended; sign in again.', true); location.hash = '#/login'; });
route();
