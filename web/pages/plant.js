/**
 * The plant admin's page: pending approvals (approve in the cloud), what left the plant (its own
 * batches, volume over time, deletions), jobs using the plant's data, the reveal shares its key
 * holder sent, models deployed to the plant with their abstention rate, and the cloud's log
 * entries of the plant — with where the gateway's own local log is.
 * @module
 */
import { api, session, tenantPath } from '../api.js';
import { abstentionSeries, daySeconds, lineChart } from '../charts.js';
import { badge, bytes, h, int, section, short, stateTone, table, when } from '../dom.js';
import { say } from '../ui.js';
import { ingestChart, jobsTable } from './builder.js';

/** @param {any} e - a LogEvent */
export function describe(e) {
  return h('span', {}, Object.entries(e.details ?? {}).flatMap(([k, v], i) => [i > 0 ? ', ' : '', `${k} `, /^[0-9a-f]{64}$/.test(String(v)) ? short(String(v)) : String(v)]));
}

/** The log entries table. @param {Array<{ index: number, event: any }>} entries @param {string} caption */
export function entriesTable(entries, caption, extra = /** @type {Array<{ label: string, cell: (r: any) => unknown }>} */ ([])) {
  return table(caption, [
    { label: 'Index', num: true, cell: (r) => r.index }, { label: 'Time', cell: (r) => when(r.event.time) }, { label: 'Kind', cell: (r) => r.event.kind },
    { label: 'Actor', cell: (r) => r.event.actor }, { label: 'Subject', cell: (r) => h('code', { class: 'long' }, r.event.subject) }, { label: 'Details', cell: (r) => describe(r.event) },
    ...extra,
  ], entries, 'no entries.');
}

/** The plant admin's page. */
export async function plantPage() {
  const tenant = session()?.tenant ?? '';
  const [jobs, outbound, ingest, shares, deployments, log] = await Promise.all([
    api(tenantPath('/jobs')), api(tenantPath('/outbound')), api(tenantPath('/ingest?days=14')), api(tenantPath('/shares')),
    api(tenantPath('/deployments')), api(tenantPath('/log/entries?limit=15')),
  ]);
  const pendingHolder = h('div');
  const renderPending = (/** @type {any[]} */ all) => {
    const pending = all.filter((j) => j.awaitingApproval);
    pendingHolder.replaceChildren(table('Jobs waiting for your approval', [
      { label: 'Job', cell: (j) => h('code', {}, j.id) },
      { label: 'Requested by', cell: (j) => j.requestedBy },
      { label: 'Dataset', cell: (j) => j.dataset },
      { label: 'What would be revealed', cell: (j) => `sums over ${int(j.records)} records of ${j.plants.length} plants (${j.plants.join(', ')}): features ${j.features.join(', ')}${j.label ? ' and the label' : ''}` },
      { label: 'State', cell: (j) => badge(j.state, stateTone(j.state)) },
      { label: 'Decision', cell: (j) => h('button', { type: 'button', 'aria-label': `Approve job ${j.id}`, onclick: (/** @type {Event} */ ev) => approve(j, /** @type {HTMLButtonElement} */ (ev.currentTarget)) }, 'Approve') },
    ], pending, 'nothing waits for your approval.'));
  };
  const approve = async (/** @type {any} */ j, /** @type {HTMLButtonElement} */ button) => {
    button.disabled = true;
    try {
      await api(tenantPath(`/jobs/${encodeURIComponent(j.id)}/approvals`), { method: 'POST' });
      say(`Approved job ${j.id} in the cloud. Your gateway's key holder makes its reveal share only after the same approval at the gateway: hedge edge approve ${j.id} --admin <gateway admin URL> --token-file <file> --by <you> --yes`);
      renderPending(await api(tenantPath('/jobs')));
      /** @type {HTMLElement | null} */ (pendingHolder.querySelector('button'))?.focus();
    } catch (err) {
      say(`Cannot approve job ${j.id}: ${/** @type {Error} */ (err).message}`, true);
      button.disabled = false;
    }
  };
  renderPending(jobs);
  const models = [...new Set(deployments.filter((/** @type {any} */ d) => d.fleet === tenant).map((/** @type {any} */ d) => d.modelId))];
  const health = await Promise.all(models.map(async (m) => ({ model: m, inf: await api(tenantPath(`/models/${encodeURIComponent(String(m))}/inference?days=30`)) })));
  return h('div', {},
    h('h1', {}, `Plant admin · ${tenant}`),
    section('Pending approvals',
      h('p', { class: 'note' }, 'A job reveals only aggregates over at least the federation\'s minimum of plants and records, and only after every plant whose data it uses approved it.'),
      pendingHolder),
    section('What left the plant',
      h('p', { class: 'note' }, 'Encrypted batches your gateways uploaded: only ciphertexts left the plant, under the federation\'s collective key, which no one holds alone. The cloud sees sizes, counts and times.'),
      table('Per dataset', [
        { label: 'Dataset', cell: (d) => h('code', {}, d.dataset) }, { label: 'Owner', cell: (d) => d.owner },
        { label: 'Batches', num: true, cell: (d) => int(d.volume.batches) }, { label: 'Records', num: true, cell: (d) => int(d.volume.records) },
        { label: 'Ciphertext', num: true, cell: (d) => bytes(d.volume.bytes) }, { label: 'First', cell: (d) => when(d.volume.first) }, { label: 'Last', cell: (d) => when(d.volume.last) },
      ], outbound.datasets, 'nothing has left the plant.'),
      ingestChart(ingest, ingest.own, 'Records your gateways uploaded per UTC day (last 14 days).'),
      h('details', {}, h('summary', {}, `The latest ${outbound.recent.length} batches`), table('Latest batches', [
        { label: 'Batch', cell: (b) => h('code', {}, b.batchId) }, { label: 'Dataset', cell: (b) => b.dataset }, { label: 'Records', num: true, cell: (b) => int(b.records) },
        { label: 'Size', num: true, cell: (b) => bytes(b.bytes) }, { label: 'Window', cell: (b) => h('span', {}, when(b.from), ' – ', when(b.to)) },
        { label: 'Received', cell: (b) => when(b.receivedAt) }, { label: 'SHA-256', cell: (b) => short(b.contentHash) },
      ], outbound.recent)),
      table('Deleted batches', [
        { label: 'Batch', cell: (b) => h('code', {}, b.batchId) }, { label: 'Dataset', cell: (b) => b.dataset }, { label: 'Records', num: true, cell: (b) => int(b.records) },
        { label: 'Why', cell: (b) => b.reason }, { label: 'Deleted', cell: (b) => when(b.deletedAt) },
      ], outbound.deletions, 'none.')),
    section('Jobs using this plant\'s data', jobsTable(jobs, false)),
    section('Shares produced',
      h('p', { class: 'note' }, 'Reveal shares your key holder sent for approved jobs (the cloud keeps their SHA-256; a key holder makes one share per job and answers a retry with the same one).'),
      table('Reveal shares', [
        { label: 'Job', cell: (s) => h('code', {}, s.job) }, { label: 'Dataset', cell: (s) => s.dataset }, { label: 'Federation', cell: (s) => s.federation },
        { label: 'SHA-256', cell: (s) => short(s.sha256) }, { label: 'Attempt', num: true, cell: (s) => s.attempt ?? '—' }, { label: 'Received', cell: (s) => when(s.receivedAt) },
      ], shares, 'none yet.')),
    section('Models deployed here',
      table('Deployments to this plant', [
        { label: 'Model', cell: (d) => d.modelId }, { label: 'Version', num: true, cell: (d) => d.version }, { label: 'From', cell: (d) => d.tenant },
        { label: 'Lineage digest', cell: (d) => short(d.lineageDigest) }, { label: 'Released', cell: (d) => when(d.releasedAt) },
      ], deployments.filter((/** @type {any} */ d) => d.fleet === tenant), 'no model released to this plant.'),
      health.map(({ model, inf }) => (inf.inferences.some((/** @type {number | null} */ n) => n) ? lineChart({
        title: `Abstention rate of ${model} here`, caption: `Percent of your gateways' inferences that ${model} abstained on, per UTC day (last 30 days): a rising rate means your data drifts away from the training data.`,
        yLabel: '% abstained', x: inf.days.map(daySeconds), xLabels: inf.days,
        series: [abstentionSeries(inf)],
      }).figure : h('p', { class: 'empty' }, `${model}: no inference summaries reported yet.`)))),
    section('Log',
      h('p', { class: 'note' }, 'The cloud\'s transparency-log entries of this plant (newest first); the auditor view verifies them. Your gateway keeps its own local log — approvals, shares made and refused, batches sent, cloud checkpoints checked — hash-chained in the key holder\'s keyholder.db at the gateway. It never leaves the plant, so this console cannot show it; read it at the gateway.'),
      entriesTable(log.entries, 'Latest log entries')),
  );
}
