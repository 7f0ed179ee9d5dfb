/**
 * The machine builder's pages: federations, datasets (totals only), ingest volume, jobs with live
 * progress, models with metrics, lineage, deployments per plant and the fleet's abstention rate.
 * @module
 */
import { api, tenantPath } from '../api.js';
import { abstentionSeries, daySeconds, lineChart } from '../charts.js';
import { badge, bytes, h, int, kv, section, short, stateTone, table, when } from '../dom.js';
import { every } from '../ui.js';

const ACTIVE = new Set(['queued', 'running', 'computed', 'revealing']);

/** @param {{ done: number, total: number }} p @param {string} label */
export function progressBar(p, label) {
  return h('span', {}, h('progress', { max: Math.max(p.total, 1), value: p.done, 'aria-label': label }), ` ${p.done}/${p.total}`);
}

/** @param {any[]} jobs @param {boolean} link */
export function jobsTable(jobs, link) {
  return table('Jobs', [
    { label: 'Job', cell: (j) => (link ? h('a', { href: `#/builder/jobs/${encodeURIComponent(j.id)}` }, j.id) : h('code', {}, j.id)) },
    { label: 'Dataset', cell: (j) => j.dataset },
    { label: 'State', cell: (j) => badge(j.state, stateTone(j.state)) },
    { label: 'Progress (batches)', cell: (j) => progressBar(j.progress, `progress of job ${j.id}`) },
    { label: 'Plants', num: true, cell: (j) => j.plants.length },
    { label: 'Records', num: true, cell: (j) => int(j.records) },
    { label: 'Approvals', cell: (j) => `${j.approvals.length} of ${j.plants.length}` },
    { label: 'Reveal shares', cell: (j) => `${j.shares.length} of ${j.parties}` },
    { label: 'Submitted', cell: (j) => when(j.createdAt) },
  ], jobs, 'no jobs yet.');
}

/**
 * The ingest chart: records per UTC day per dataset.
 * @param {{ days: string[] }} ingest @param {Array<{ dataset: string, records: Array<number | null> }>} series @param {string} caption
 */
export function ingestChart(ingest, series, caption) {
  if (series.length === 0) return h('p', { class: 'empty' }, 'No batches in this period.');
  return lineChart({
    title: 'Records received per day', caption, yLabel: 'records', x: ingest.days.map(daySeconds), xLabels: ingest.days,
    series: series.map((s) => ({ label: s.dataset, values: s.records })),
  }).figure;
}

/** The builder's overview. */
export async function builderPage() {
  const [feds, datasets, ingest, jobs, models] = await Promise.all([
    api(tenantPath('/federations')), api(tenantPath('/datasets')), api(tenantPath('/ingest?days=14')), api(tenantPath('/jobs')), api(tenantPath('/models')),
  ]);
  const jobsHolder = h('div', {}, jobsTable(jobs, true));
  if (jobs.some((/** @type {any} */ j) => ACTIVE.has(j.state))) {
    every(async () => {
      const fresh = await api(tenantPath('/jobs'));
      jobsHolder.replaceChildren(jobsTable(fresh, true));
      return fresh.some((/** @type {any} */ j) => ACTIVE.has(j.state));
    }, 2000);
  }
  return h('div', {},
    h('h1', {}, 'Machine builder'),
    section('Federations',
      h('p', { class: 'note' }, 'Key holders of each federation and the state of its key ceremony. The collective secret key exists nowhere; results are re-encrypted to your own key.'),
      table('Federations', [
        { label: 'Federation', cell: (f) => h('code', {}, f.id) },
        { label: 'Plants', cell: (f) => f.members.filter((/** @type {any} */ m) => m.role === 'plant').map((/** @type {any} */ m) => m.tenant).join(', ') },
        { label: 'Receiver', cell: (f) => f.receiver },
        { label: 'Parameters', cell: (f) => h('code', {}, f.preset) },
        { label: 'Ceremony', cell: (f) => (f.round === 'ready' ? badge('ready', 'ok') : badge(`round ${f.round}, waiting for ${f.missing.join(', ')}`, 'warn')) },
        { label: 'Reveal needs', cell: (f) => `${f.threshold} of ${f.members.length} key holders` },
        { label: 'Guards', cell: (f) => `≥ ${f.guards.minPlants} plants, ≥ ${int(f.guards.minRecords)} records` },
      ], feds, 'you are in no federation yet.')),
    section('Datasets',
      h('p', { class: 'note' }, 'Totals over all plants. Per-plant volume is each plant\'s own: it is not shown here, and totals stay withheld while fewer plants than the federation\'s minimum contributed.'),
      table('Datasets', [
        { label: 'Dataset', cell: (d) => h('code', {}, d.id) },
        { label: 'Federation', cell: (d) => d.federation },
        { label: 'Features', cell: (d) => d.features.join(', ') + (d.label ? `; label ${d.label}` : '') },
        { label: 'Plants', num: true, cell: (d) => d.plants },
        { label: 'Batches', num: true, cell: (d) => (d.total ? int(d.total.batches) : 'withheld') },
        { label: 'Records', num: true, cell: (d) => (d.total ? int(d.total.records) : 'withheld') },
        { label: 'Ciphertext', num: true, cell: (d) => (d.total ? bytes(d.total.bytes) : 'withheld') },
        { label: 'Retention', num: true, cell: (d) => `${d.retentionDays} d` },
      ], datasets, 'no datasets yet.'),
      ingestChart(ingest, ingest.owned, 'Encrypted records received per UTC day into your datasets, all plants together (last 14 days). A gap is a day withheld because fewer plants than the federation\'s minimum uploaded.')),
    section('Jobs', h('p', { class: 'note' }, 'Progress updates live while a job runs. Open a job for its approvals, shares and lineage.'), jobsHolder),
    section('Models',
      table('Models', [
        { label: 'Model', cell: (m) => h('a', { href: `#/builder/models/${encodeURIComponent(m.modelId)}` }, m.modelId) },
        { label: 'Owner', cell: (m) => m.owner },
        { label: 'Latest version', num: true, cell: (m) => m.latest },
        { label: 'Aliases', cell: (m) => Object.entries(m.aliases).map(([a, v]) => `${a} → v${v}`).join(', ') || '—' },
      ], models, 'no models registered yet.')),
  );
}

/** A job, live. @param {string} id */
export async function jobPage(id) {
  const find = async () => (await api(tenantPath('/jobs'))).find((/** @type {any} */ j) => j.id === id);
  const job = await find();
  if (!job) throw new Error(`no job ${id}`);
  const t0 = Date.now();
  /** @type {number[]} */ const xs = [0];
  /** @type {number[]} */ const done = [job.progress.done];
  const chart = lineChart({
    title: 'Batches aggregated', caption: `Batches of job ${id} aggregated on ciphertexts, against seconds since you opened this page (of ${job.progress.total}).`,
    time: false, xName: 'seconds', yLabel: 'batches', yMax: job.progress.total, x: xs, xLabels: xs.map(String), series: [{ label: 'batches done', values: done }],
  });
  const head = h('div');
  const details = h('div');
  const lineage = h('div');
  const render = (/** @type {any} */ j) => {
    head.replaceChildren(kv([
      ['State', badge(j.state, stateTone(j.state))], ['Progress', progressBar(j.progress, `progress of job ${j.id}`)],
      ['Dataset', j.dataset], ['Federation', j.federation], ['Features', j.features.join(', ') + (j.label ? ' and the label' : '')],
      ['Records', int(j.records)], ['Submitted', when(j.createdAt)], ['Reveal deadline', when(j.deadline)], ...(j.error ? [/** @type {[string, unknown]} */ (['Error', h('span', { class: 'bad' }, j.error)])] : []),
    ]));
    details.replaceChildren(
      table('Approvals by plant', [{ label: 'Plant', cell: (p) => p }, { label: 'Approved', cell: (p) => (j.approvals.includes(p) ? badge('approved', 'ok') : badge('waiting', 'warn')) }], j.plants),
      h('p', { class: 'note' }, `Reveal shares: ${j.shares.length} of ${j.parties} needed (${j.shares.join(', ') || 'none yet'})${j.activeSet ? `; asked in this attempt: ${j.activeSet.join(', ')}` : ''}.`),
    );
  };
  render(job);
  const showLineage = async () => {
    const events = await api(tenantPath(`/jobs/${encodeURIComponent(id)}/lineage`));
    lineage.replaceChildren(table('OpenLineage run events', [
      { label: 'Event', cell: (e) => e.eventType }, { label: 'Time', cell: (e) => when(e.eventTime) },
      { label: 'Outputs', cell: (e) => (e.outputs ?? []).map((/** @type {any} */ o) => `${o.name}`).join(', ') || '—' },
    ], events, 'none yet (the job has not started).'));
  };
  await showLineage();
  if (ACTIVE.has(job.state)) {
    every(async () => {
      const j = await find();
      if (!j) return false;
      xs.push(Math.round((Date.now() - t0) / 100) / 10);
      done.push(j.progress.done);
      chart.update(xs, xs.map(String), [done]);
      render(j);
      if (!ACTIVE.has(j.state)) await showLineage();
      return ACTIVE.has(j.state);
    }, 1000);
  }
  return h('div', {},
    h('p', {}, h('a', { href: '#/builder' }, '← Machine builder')),
    h('h1', {}, `Job ${id}`),
    section('Progress', head, chart.figure),
    section('Approvals and reveal', details),
    section('Lineage', lineage));
}

/** A model: versions with metrics and lineage, aliases, deployments per plant, abstention over time. @param {string} id */
export async function modelPage(id) {
  const m = encodeURIComponent(id);
  const [versions, aliases, deployments, inference] = await Promise.all([
    api(tenantPath(`/models/${m}/versions`)), api(tenantPath(`/models/${m}/aliases`)), api(tenantPath(`/deployments?model=${m}`)), api(tenantPath(`/models/${m}/inference?days=30`)),
  ]);
  const latest = versions.at(-1);
  return h('div', {},
    h('p', {}, h('a', { href: '#/builder' }, '← Machine builder')),
    h('h1', {}, `Model ${id}`),
    section('Versions and metrics',
      table('Versions', [
        { label: 'Version', num: true, cell: (v) => v.version },
        { label: 'Family', cell: (v) => v.family },
        { label: 'Job', cell: (v) => h('a', { href: `#/builder/jobs/${encodeURIComponent(v.jobId)}` }, v.jobId) },
        { label: 'Metrics', cell: (v) => Object.entries({ ...v.metrics, ...(v.evaluation ?? {}) }).map(([k, x]) => `${k} ${Number(x).toPrecision(4)}`).join(', ') || '—' },
        { label: 'Lineage', cell: (v) => (v.lineageStatus.intact ? badge('intact', 'ok') : badge(`${v.lineageStatus.deleted.length} batches deleted since`, 'warn')) },
        { label: 'Registered', cell: (v) => when(v.registeredAt) },
      ], versions)),
    latest && section(`Lineage of version ${latest.version}`,
      kv([
        ['Job', latest.lineage.jobId], ['Federation', latest.lineage.federation], ['Dataset', latest.lineage.dataset],
        ['Plants', latest.lineage.plants.join(', ')], ['Batches (pinned by hash)', int(latest.lineage.batchHashes.length)], ['Records', int(latest.lineage.records)],
        ['Features', latest.lineage.features.join(', ') + (latest.lineage.label ? ' and the label' : '')], ['Code', h('code', {}, latest.lineage.code)],
        ['Lineage digest', short(latest.lineageDigest)], ['Artifact SHA-256', short(latest.artifact.sha256)],
      ]),
      h('details', {}, h('summary', {}, `The ${latest.lineage.batchHashes.length} batch hashes`), h('ul', {}, latest.lineage.batchHashes.map((/** @type {string} */ x) => h('li', {}, h('code', {}, x)))))),
    section('Deployments per plant',
      table('Deployments', [
        { label: 'Plant (fleet)', cell: (d) => d.fleet }, { label: 'Version', num: true, cell: (d) => d.version },
        { label: 'TUF target', cell: (d) => h('code', {}, d.target) }, { label: 'Released by', cell: (d) => d.releasedBy }, { label: 'Released', cell: (d) => when(d.releasedAt) },
      ], deployments, 'not released to any plant yet.'),
      table('Aliases', [{ label: 'Alias', cell: (a) => a.alias }, { label: 'Version', num: true, cell: (a) => a.version }, { label: 'Moved by', cell: (a) => a.movedBy }, { label: 'Moved', cell: (a) => when(a.movedAt) }], aliases.aliases, 'no aliases.')),
    section('Drift: abstention rate in the fleet',
      h('p', { class: 'note' }, 'From the gateways\' inference summaries in the transparency log: the share of inputs the model abstained on (out of the training distribution or outside its output envelope), per UTC day, all reporting plants together. A rising rate is the first sign of drift. Days with fewer reporting plants than the federation\'s minimum are withheld.'),
      inference.inferences.some((/** @type {number | null} */ n) => n) ? lineChart({
        title: 'Abstention rate per day', caption: 'Percent of inferences abstained, per UTC day (last 30 days).', yLabel: '% abstained',
        x: inference.days.map(daySeconds), xLabels: inference.days, series: [abstentionSeries(inference)],
      }).figure : h('p', { class: 'empty' }, 'No inference summaries reported yet.')),
  );
}
