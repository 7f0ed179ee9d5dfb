/**
 * The web console end to end, in a real browser: `hedge cloud start` as a process over HTTPS, a
 * federation of three enrolled gateways and a builder (key ceremony, encrypted uploads, a job),
 * and Debian's chromium driven by playwright-core. Each role logs in and walks its main flow:
 *
 * - plant admin (by keyboard only): what left the plant, a pending approval → approve;
 * - machine builder: federation, dataset totals, the job's progress, a model's lineage, metrics
 *   and deployments per plant, the fleet's abstention chart;
 * - auditor: the checkpoint verified in the browser, every entry's inclusion, and on a second
 *   visit the consistency with the checkpoint seen before.
 *
 * Every page is checked for content, for labelled inputs and named buttons, for no script error
 * and no Content-Security-Policy violation, and photographed (non-empty PNGs of the viewport's
 * size; kept in $HEDGE_CONSOLE_SHOTS when set). Chromium must be installed (`.ci/run` does:
 * apt-get install -y chromium); without it this test fails and says so.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { call, ceremonyOverHttps, enrolGateways, kill, login, ok, revealOverHttps, startServer, type Identity, type Server } from '../cloud/_https.ts';
import { SCHEMA } from '../cloud/_models.ts';
import { SealEngine } from '../../src/he/backend/seal.ts';
import { preset } from '../../src/he/params.ts';
import { CiphertextCodec, PublicKeyCodec } from '../../src/he/wire.ts';
import { sealBatch } from '../../src/compute/batch.ts';
import { receiveMoments } from '../../src/compute/reveal.ts';
import type { JobPlan } from '../../src/compute/plan.ts';
import { createSchema, fitDiscriminant, modelToArtifact, quantiseDataset } from '../../src/models/index.ts';

const CHROMIUM = '/usr/bin/chromium';
const PLANTS = ['plant-a', 'plant-b', 'plant-c'];
const PASSWORD = 'correct horse battery staple';
const VIEWPORT = { width: 1280, height: 900 };
const GUARDS = { minPlants: 3, minRecords: 100 };

let dir: string;
let shots: string;
let server: Server;
let context: BrowserContext;
const problems: string[] = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium as .ci/run does (apt-get install -y chromium)`);
  dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-console-'));
  shots = process.env.HEDGE_CONSOLE_SHOTS ?? path.join(dir, 'shots');
  mkdirSync(shots, { recursive: true });
  const users = path.join(dir, 'users.json');
  writeFileSync(users, JSON.stringify([
    { username: 'alice', password: PASSWORD, roles: [{ role: 'machine_builder', tenant: 'builder' }] },
    ...PLANTS.map((p) => ({ username: `admin-${p}`, password: PASSWORD, roles: [{ role: 'plant_admin', tenant: p }] })),
    { username: 'audra', password: PASSWORD, roles: [{ role: 'auditor', tenant: 'plant-a' }] },
  ]));
  server = await startServer(path.join(dir, 'data'), 0, users, ['--allow-insecure-params']);
  context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ignoreHTTPSErrors: true, viewport: VIEWPORT, deviceScaleFactor: 1, reducedMotion: 'reduce',
  });
});

after(async () => {
  await context?.close();
  if (server) await kill(server);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A fresh page that records script errors, failed requests and CSP violations. */
async function openPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  return page;
}

/** Every input is labelled, every button named, there is one h1; no script error so far. */
async function checkAccessible(page: Page, where: string): Promise<void> {
  // Page scripts are strings: this project's TypeScript has no DOM types.
  const unlabelled = await page.evaluate<string[]>(`[...document.querySelectorAll('input, select, textarea')]
    .filter((el) => !(el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || (el.id && document.querySelector('label[for="' + el.id + '"]'))))
    .map((el) => el.outerHTML.slice(0, 80))`);
  assert.deepEqual(unlabelled, [], `${where}: inputs without a label`);
  const unnamed = await page.evaluate<number>(`[...document.querySelectorAll('button, a[href]')].filter((el) => !(el.textContent.trim() || el.getAttribute('aria-label'))).length`);
  assert.equal(unnamed, 0, `${where}: buttons or links without a name`);
  assert.equal(await page.locator('h1').count(), 1, `${where}: one h1`);
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  assert.deepEqual(problems, [], `${where}: no script errors or CSP violations`);
}

/** A viewport screenshot, checked to be a PNG of the viewport's size. */
async function shoot(page: Page, name: string): Promise<void> {
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file });
  const png = readFileSync(file);
  assert.ok(png.length > 10_000, `${name}.png is ${png.length} bytes`);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${name}.png is a PNG`);
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [VIEWPORT.width, VIEWPORT.height], `${name}.png has the viewport's size`);
  await page.screenshot({ path: path.join(shots, `${name}-full.png`), fullPage: true });
}

async function signIn(page: Page, user: string, tenant: string): Promise<void> {
  await page.goto(`${server.url}/console/`);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Tenant').fill(tenant);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('status').filter({ hasText: `Signed in as ${user}` }).waitFor();
}

test('the console: each role logs in and walks its main flow in chromium', { timeout: 300_000 }, async (t) => {
  const base = server.url;
  const ca = readFileSync(path.join(dir, 'data', 'ca.pem'), 'utf8');
  const engine = await SealEngine.create(preset('TEST_INSECURE_BGV_2048', { allowInsecure: true }));
  const alice = await login(base, ca, 'alice', PASSWORD);
  const gateways = await enrolGateways(base, ca, PLANTS, (p) => login(base, ca, `admin-${p}`, PASSWORD));
  const as = (tenant: string): Identity => (tenant === 'builder' ? alice : gateways.get(tenant)!);

  // A federation, its key ceremony, the receiver's key, a dataset and encrypted uploads.
  const members = [...PLANTS.map((tenant) => ({ tenant, role: 'plant' })), { tenant: 'builder', role: 'builder' }];
  const fed = (await ok(call(base, alice, 'POST', '/v1/tenants/builder/federations', { id: 'mills', preset: engine.params.name, members, guards: GUARDS }), 201)).json<{ seed: string }>();
  const { secrets } = await ceremonyOverHttps(base, engine, 'mills', fed.seed, members.map((m) => m.tenant), as);
  using builderSk = engine.generateSecretKey();
  using builderPk = engine.publicKeyFor(builderSk);
  await ok(call(base, alice, 'PUT', '/v1/tenants/builder/federations/mills/receiver-key', PublicKeyCodec.toBytes(engine, builderPk)));
  await ok(call(base, alice, 'POST', '/v1/tenants/builder/datasets', { id: 'mills', federation: 'mills', schema: SCHEMA, retentionDays: 365 }), 201);
  using pk = PublicKeyCodec.fromBytes(engine, (await ok(call(base, as('plant-a'), 'GET', '/v1/tenants/plant-a/federations/mills/material/public-key'))).body);
  const schema = createSchema(SCHEMA);
  for (const [k, plant] of PLANTS.entries()) {
    const rows = Array.from({ length: 300 + 100 * k }, (_, i) => [(i * 41 + k * 7) % 3000, (i * 17 + k) % 80]);
    const data = quantiseDataset(schema, rows, rows.map((r) => (r[1]! > 70 ? 'fail' : 'ok')));
    for (let at = 0, b = 0; at < rows.length; at += 200, b++) {
      const { bytes } = sealBatch(engine, pk, schema, data, at, Math.min(200, rows.length - at), { dataset: 'mills', plant, batchId: `${plant}-${b}`, from: `2026-01-0${b + 1}T00:00:00Z`, to: `2026-01-0${b + 1}T23:00:00Z` });
      await ok(call(base, as(plant), 'POST', `/v1/tenants/${plant}/datasets/mills/batches`, bytes), 201);
    }
  }
  const waitFor = async (job: string, state: string): Promise<void> => {
    for (let i = 0; i < 600; i++) {
      if ((await ok(call(base, alice, 'GET', `/v1/tenants/builder/jobs/${job}`))).json<{ state: string }>().state === state) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`job ${job} did not reach ${state}`);
  };
  await ok(call(base, alice, 'POST', '/v1/tenants/builder/jobs', { id: 'job-1', federation: 'mills', dataset: 'mills', spec: { features: ['speed', 'torque'], label: true } }), 201);
  await waitFor('job-1', 'computed');
  for (const p of ['plant-b', 'plant-c']) await ok(call(base, await login(base, ca, `admin-${p}`, PASSWORD), 'POST', `/v1/tenants/${p}/jobs/job-1/approvals`));

  await t.test('plant admin: signs in by keyboard, sees what left the plant, approves the pending job', async () => {
    const page = await openPage();
    await page.goto(`${base}/console/`);
    await checkAccessible(page, 'login');
    await shoot(page, '1-login');
    // Keyboard only: the user field has focus; Tab through the form, Enter submits.
    assert.equal(await page.evaluate<string>('document.activeElement.id'), 'login-user');
    await page.keyboard.type('admin-plant-a');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Tab');
    await page.keyboard.type('plant-a');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Plant admin · plant-a' }).waitFor();
    const main = page.locator('main');
    await assert.doesNotReject(page.getByRole('table', { name: 'Jobs waiting for your approval' }).waitFor());
    const perDataset = page.getByRole('table', { name: 'Per dataset' });
    assert.match(await perDataset.innerText(), /mills\s+builder\s+2\s+300/);
    assert.equal(await main.locator('figure.chart canvas').count() >= 1, true, 'the ingest chart is drawn');
    assert.match(await main.innerText(), /keyholder\.db at the gateway/);
    assert.match(await page.getByRole('table', { name: 'Latest log entries' }).innerText(), /key_ceremony/);
    await checkAccessible(page, 'plant admin');
    await shoot(page, '2-plant-admin');
    // Approve by keyboard: Tab to the button, Enter.
    let focused = '';
    for (let i = 0; i < 80 && focused !== 'Approve job job-1'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate<string>(`document.activeElement.getAttribute('aria-label') ?? ''`);
    }
    assert.equal(focused, 'Approve job job-1', 'the approve button is reachable by Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Approved job job-1 in the cloud' }).waitFor();
    assert.match(await page.getByRole('status').innerText(), /hedge edge approve job-1/);
    await page.getByText('Jobs waiting for your approval: nothing waits for your approval.').waitFor();
    await shoot(page, '3-plant-admin-approved');
    // The approval went through the API: the job now lists plant-a's approval.
    const job = (await ok(call(base, alice, 'GET', '/v1/tenants/builder/jobs/job-1'))).json<{ approvals: string[]; state: string }>();
    assert.deepEqual(job.approvals, ['plant-a', 'plant-b', 'plant-c']);
    assert.equal(job.state, 'revealing');
    await page.close();
  });

  // The reveal, a model from it, its release to every plant, and the gateways' inference summaries.
  await revealOverHttps(base, engine, 'job-1', 'mills', secrets, as, GUARDS);
  await waitFor('job-1', 'revealed');
  const plan = (await ok(call(base, alice, 'GET', '/v1/tenants/builder/jobs/job-1/plan'))).json<JobPlan>();
  using switched = CiphertextCodec.fromBytes(engine, (await ok(call(base, alice, 'GET', '/v1/tenants/builder/jobs/job-1/result'))).body);
  const model = fitDiscriminant(schema, receiveMoments(engine, schema, plan, switched, builderSk), { priors: 'uniform' });
  const artifact = modelToArtifact(model, { modelId: 'mills-fail', modelVersion: 1, lineage: { jobId: 'job-1', plants: [], batchHashes: [] } });
  await ok(call(base, alice, 'POST', '/v1/tenants/builder/models/mills-fail/versions', { jobId: 'job-1', artifact, evaluation: { accuracy: 0.93 } }), 201);
  await ok(call(base, alice, 'POST', '/v1/tenants/builder/models/mills-fail/releases', { version: 1, fleets: PLANTS }), 201);
  for (const [k, p] of PLANTS.entries()) {
    await ok(call(base, as(p), 'POST', `/v1/tenants/${p}/inference-summaries`, {
      modelId: 'mills-fail', modelVersion: 1, from: '2026-03-01T00:00:00.000Z', to: '2026-03-01T01:00:00.000Z',
      records: 100, served: 95 - k, clamped: 0, abstained: 5 + k, fallback: 5 + k, unanswered: 0,
      reasons: { not_finite: 0, out_of_range: 2, out_of_distribution: 3 + k, low_confidence: 0, model_error: 0 }, drift: null,
    }), 201);
  }
  await ok(call(base, alice, 'POST', '/v1/tenants/builder/jobs', { id: 'job-2', federation: 'mills', dataset: 'mills', spec: { features: ['speed', 'torque'], label: false } }), 201);

  await t.test('machine builder: federation, dataset, a job\'s progress, a model\'s lineage and deployments', async () => {
    const page = await openPage();
    await signIn(page, 'alice', 'builder');
    await page.getByRole('heading', { level: 1, name: 'Machine builder' }).waitFor();
    assert.match(await page.getByRole('table', { name: 'Federations' }).innerText(), /mills\s+plant-a, plant-b, plant-c\s+builder\s+TEST_INSECURE_BGV_2048\s+ready\s+4 of 4 key holders/);
    assert.match(await page.getByRole('table', { name: 'Datasets' }).innerText(), /mills\s+mills\s+speed, torque; label state\s+3\s+7\s+1,200/);
    assert.ok(await page.locator('figure.chart canvas').count() >= 1, 'the ingest chart is drawn');
    await page.getByRole('table', { name: 'Jobs' }).getByText('job-2').waitFor();
    await checkAccessible(page, 'builder');
    await shoot(page, '4-builder');
    await page.getByRole('link', { name: 'job-2' }).click();
    await page.getByRole('heading', { level: 1, name: 'Job job-2' }).waitFor();
    await page.getByLabel('progress of job job-2').and(page.locator('[value="7"]')).waitFor({ timeout: 60_000 });
    await page.getByText('7/7').first().waitFor();
    assert.match(await page.locator('main').innerText(), /computed/);
    await page.getByRole('table', { name: 'OpenLineage run events' }).getByText('START').waitFor();
    await checkAccessible(page, 'job');
    await shoot(page, '5-builder-job');
    await page.getByRole('link', { name: '← Machine builder' }).click();
    await page.getByRole('link', { name: 'mills-fail' }).click();
    await page.getByRole('heading', { level: 1, name: 'Model mills-fail' }).waitFor();
    const text = await page.locator('main').innerText();
    assert.match(text, /accuracy 0\.9300/);
    assert.match(text, /Plants\s+plant-a, plant-b, plant-c/);
    assert.match(text, /Batches \(pinned by hash\)\s+7/);
    assert.match(text, /Records\s+1,200/);
    const deployments = await page.getByRole('table', { name: 'Deployments' }).innerText();
    for (const p of PLANTS) assert.match(deployments, new RegExp(`${p}\\s+1\\s+fleets/${p}/mills-fail/v1`));
    assert.ok(await page.locator('figure.chart canvas').count() >= 1, 'the abstention chart is drawn');
    await page.getByText('Show the numbers as a table').last().click();
    const rates = await page.getByRole('table', { name: 'Abstention rate per day (data)' }).innerText();
    assert.match(rates, /6 % \(18 of 300\)/, '18 of 300 inferences abstained today');
    assert.match(rates, /no reports/);
    await checkAccessible(page, 'model');
    await shoot(page, '6-builder-model');
    await page.close();
  });

  await t.test('auditor: the checkpoint and every entry verified in the browser; consistency on the next visit', async () => {
    const page = await openPage();
    await signIn(page, 'audra', 'plant-a');
    await page.getByRole('heading', { level: 1, name: 'Auditor' }).waitFor();
    const main = page.locator('main');
    assert.match(await main.innerText(), /verified in this browser/);
    assert.match(await main.innerText(), /first checkpoint this browser sees/);
    const entries = await page.getByRole('table', { name: /Entries of this tenant/ }).innerText();
    assert.match(entries, /included/);
    assert.doesNotMatch(entries, /NOT/);
    assert.match(entries, /approved/, 'plant-a\'s approval is in its log');
    await checkAccessible(page, 'auditor');
    await shoot(page, '7-auditor');
    // Filter by kind: only the plant's job events, each still proven.
    await page.getByLabel('Kind of entry').selectOption('job');
    await page.getByRole('table', { name: /Entries of this tenant/ }).getByRole('cell', { name: 'key_ceremony' }).first().waitFor({ state: 'detached' });
    const kinds = await page.getByRole('table', { name: /Entries of this tenant/ }).locator('tbody td:nth-child(3)').allInnerTexts();
    assert.ok(kinds.length > 0 && kinds.every((k) => k === 'job'), kinds.join());
    assert.doesNotMatch(await page.getByRole('table', { name: /Entries of this tenant/ }).innerText(), /NOT/);
    // More entries, then a second visit: the new checkpoint must extend the one seen before.
    await ok(call(base, alice, 'POST', '/v1/tenants/builder/jobs', { id: 'job-3', federation: 'mills', dataset: 'mills', spec: { features: ['speed'], label: false } }), 201);
    await waitFor('job-3', 'computed');
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Auditor' }).waitFor();
    assert.match(await main.innerText(), /verified: extends the checkpoint of size \d+ this browser verified before/);
    assert.doesNotMatch(await main.innerText(), /NOT/);
    await shoot(page, '8-auditor-consistency');
    // The auditor of plant-a cannot read the builder's views.
    const denied = await page.evaluate<number>(`fetch('/v1/tenants/builder/jobs', { headers: { authorization: 'Bearer ' + JSON.parse(sessionStorage.getItem('hedge.console.session')).token } }).then((r) => r.status)`);
    assert.equal(denied, 403);
    problems.splice(0, problems.length, ...problems.filter((p) => !p.includes('403 (Forbidden)')));
    await page.close();
  });

  // The static files: CSP, content types, no traversal, no token needed.
  const index = await call(base, { ca }, 'GET', '/console/');
  assert.equal(index.status, 200);
  const head = await fetchHeaders(base, ca, '/console/app.js');
  assert.match(head['content-type'] ?? '', /^text\/javascript/);
  assert.match(head['content-security-policy'] ?? '', /default-src 'none'; script-src 'self'/);
  assert.equal(head['x-content-type-options'], 'nosniff');
  for (const bad of ['/console/../package.json', '/console/%2e%2e/package.json', '/console/pages/../../package.json', '/console/.hidden', '/console/tsconfig.json', '/console/vendor/uPlot.esm.d.ts']) {
    assert.equal((await call(base, { ca }, 'GET', bad)).status, 404, bad);
  }
  t.diagnostic(`screenshots in ${shots}`);
  assert.deepEqual(problems, []);
  engine[Symbol.dispose]();
});

async function fetchHeaders(base: string, ca: string, url: string): Promise<Record<string, string | undefined>> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    request(`${base}${url}`, { ca, agent: false }, (res) => {
      res.resume();
      resolve(Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v])));
    }).on('error', reject).end();
  });
}
