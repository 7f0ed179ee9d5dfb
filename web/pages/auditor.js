/**
 * The auditor's page: the log's latest checkpoint and the tenant's entries, verified in this
 * browser (web/verify.js, WebCrypto): the checkpoint's Ed25519 signature by the pinned log key,
 * its consistency with the last checkpoint this browser verified, and each entry's inclusion proof.
 * @module
 */
import { api, tenantPath } from '../api.js';
import { badge, h, kv, section } from '../dom.js';
import { fromBase64, toHex, verifyCheckpoint, verifyConsistency, verifyInclusion } from '../verify.js';
import { entriesTable } from './plant.js';

const PIN = 'hedge.console.logKey';
/** The kinds of log event (src/trust/events.ts EVENT_KINDS). */
const KINDS = ['key_ceremony', 'ingest', 'job', 'decryption_share', 'release', 'deployment', 'activation', 'inference_summary', 'access_denied', 'deletion'];
const SEEN = 'hedge.console.checkpoint';

/** The auditor's page. */
export async function auditorPage() {
  const cp = await api('/v1/log/checkpoint');
  const pinned = JSON.parse(localStorage.getItem(`${PIN}:${cp.origin}`) ?? 'null');
  const key = pinned?.key ?? cp.verifierKey;
  /** @type {Array<[string, unknown]>} */
  const facts = [['Origin', h('code', {}, cp.origin)], ['Tree size', cp.size]];
  let checkpoint;
  let verdict;
  try {
    checkpoint = await verifyCheckpoint(cp.checkpoint, key, cp.origin);
    if (!pinned) localStorage.setItem(`${PIN}:${cp.origin}`, JSON.stringify({ key, at: new Date().toISOString() }));
    facts.push(['Root hash', h('code', {}, toHex(checkpoint.root))]);
    facts.push(['Signature', badge('verified in this browser', 'ok')]);
    verdict = 'ok';
  } catch (err) {
    facts.push(['Signature', badge(`NOT verified: ${/** @type {Error} */ (err).message}`, 'bad')]);
    verdict = 'bad';
  }
  facts.push(['Log key', h('span', {}, h('code', {}, key), pinned ? ` — pinned in this browser on ${pinned.at.slice(0, 10)}` : ' — pinned now (first use); compare it with the key your organisation got out of band')]);
  if (pinned && pinned.key !== cp.verifierKey) facts.push(['Warning', badge('the cloud now names another log key than the pinned one', 'bad')]);
  if (checkpoint) {
    const seen = JSON.parse(localStorage.getItem(`${SEEN}:${cp.origin}`) ?? 'null');
    if (seen && seen.size > 0 && seen.size <= checkpoint.size) {
      try {
        const proof = seen.size === checkpoint.size ? { proof: [] } : await api(`/v1/log/consistency?from=${seen.size}&to=${checkpoint.size}`);
        await verifyConsistency(seen.size, checkpoint.size, proof.proof.map(fromBase64), fromBase64(seen.root), checkpoint.root);
        facts.push(['Consistency', badge(`verified: extends the checkpoint of size ${seen.size} this browser verified before`, 'ok')]);
      } catch (err) {
        facts.push(['Consistency', badge(`NOT consistent with size ${seen.size}: ${/** @type {Error} */ (err).message}`, 'bad')]);
        verdict = 'bad';
      }
    } else if (seen && seen.size > checkpoint.size) {
      facts.push(['Consistency', badge(`the log shrank from ${seen.size} to ${checkpoint.size}`, 'bad')]);
      verdict = 'bad';
    } else {
      facts.push(['Consistency', badge('first checkpoint this browser sees; the next visit checks that the log only grew', '')]);
    }
    if (verdict === 'ok') localStorage.setItem(`${SEEN}:${cp.origin}`, JSON.stringify({ size: checkpoint.size, root: btoa(String.fromCharCode(...checkpoint.root)) }));
  }

  const entriesHolder = h('div');
  const more = h('button', { type: 'button', class: 'secondary' }, 'Older entries');
  const kind = /** @type {HTMLSelectElement} */ (h('select', { id: 'log-kind', name: 'kind' }, h('option', { value: '' }, 'all kinds'), KINDS.map((k) => h('option', { value: k }, k))));
  /** @type {Array<{ index: number, event: any, ok: string }>} */
  let shown = [];
  const load = async (/** @type {number} */ before) => {
    const page = await api(tenantPath(`/log/entries?limit=20&before=${before}${kind.value ? `&kind=${kind.value}` : ''}`));
    for (const e of page.entries) {
      let ok = 'not verified';
      if (checkpoint) {
        try {
          const proof = await api(tenantPath(`/log/entries/${e.index}?size=${checkpoint.size}`));
          await verifyInclusion(e.index, checkpoint.size, fromBase64(proof.entry), proof.proof.map(fromBase64), checkpoint.root);
          ok = 'included';
        } catch (err) { ok = `NOT included: ${/** @type {Error} */ (err).message}`; }
      }
      shown.push({ ...e, ok });
    }
    entriesHolder.replaceChildren(entriesTable(shown, `Entries of this tenant in the tree of size ${checkpoint?.size ?? cp.size}`, [
      { label: 'Inclusion', cell: (r) => badge(r.ok, r.ok === 'included' ? 'ok' : 'bad') },
    ]));
    more.hidden = page.next === undefined;
    more.onclick = () => void load(page.next);
  };
  kind.addEventListener('change', () => { shown = []; void load(checkpoint?.size ?? cp.size); });
  await load(checkpoint?.size ?? cp.size);
  return h('div', {},
    h('h1', {}, 'Auditor'),
    section('Checkpoint',
      h('p', { class: 'note' }, 'Verified here, in your browser, with WebCrypto: the checkpoint\'s Ed25519 signature by the pinned log key (C2SP signed note), and a consistency proof (RFC 9162) from the last checkpoint this browser verified. The server\'s word is not taken for either. The key is pinned on first use, as hedge log verify does; pin the key you got out of band for a stronger check.'),
      kv(facts)),
    section('Log entries',
      h('p', { class: 'note' }, 'Each entry\'s inclusion proof is checked here against the verified checkpoint\'s root. Entries name actors, subjects and payload hashes, never values.'),
      h('div', { class: 'field' }, h('label', { for: 'log-kind' }, 'Kind of entry'), kind),
      entriesHolder, more),
  );
}
