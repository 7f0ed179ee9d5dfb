/**
 * The console's read-only views (web/, issue 8): lists over the domain tables of the lake,
 * federations and jobs (read with SQL here, the services keep writing them), the transparency
 * log's entries of a tenant and a model's inference summaries from the log. Every route is for
 * people (`log.read` in the tenant of the path) and answers for that tenant only: a tenant sees
 * the federations it is a member of, datasets of those federations, jobs it submitted, holds a
 * key for or whose plan uses its plant's data, the shares its own key holder sent, its own
 * uploads, its own log entries.
 *
 * Per-plant production volume is the plant's alone (DESIGN §3, the leakage table): the builder
 * sees a dataset's totals, and daily totals, only while at least the federation's `minPlants`
 * plants contributed; a plant sees its own volume; nobody sees another plant's.
 *
 * | route | access |
 * |---|---|
 * | `GET /v1/tenants/{t}/me` | `log.read`, people: the caller's roles in the tenant |
 * | `GET /v1/tenants/{t}/federations` | `log.read`, people |
 * | `GET /v1/tenants/{t}/datasets` | `log.read`, people |
 * | `GET /v1/tenants/{t}/jobs` | `log.read`, people (with `awaitingApproval` for a plant) |
 * | `GET /v1/tenants/{t}/shares` | `log.read`, people |
 * | `GET /v1/tenants/{t}/outbound` | `log.read`, people: what left the plant |
 * | `GET /v1/tenants/{t}/ingest?days=` | `log.read`, people |
 * | `GET /v1/tenants/{t}/log/entries?before=&limit=&kind=` | `log.read`, people |
 * | `GET /v1/tenants/{t}/models/{m}/inference` | `log.read`, people (the owner: the fleet; a plant in the lineage: its own) |
 * @module
 */
import { Type, type Static } from '@sinclair/typebox';
import { decodeEvent, type LogEvent } from '../../trust/events.ts';
import type { TransparencyLog } from '../../trust/log/transparency-log.ts';
import { bytesFromRow, type SqlQueryable } from '../../trust/storage/sql.ts';
import { errorResponses } from '../../wire/common.ts';
import {
  DatasetSummary, FederationSummary, IngestQuery, IngestView, InferenceView, JobSummary, LogEntriesQuery, LogEntriesView, MeView,
  ModelInferenceParams, OutboundView, ShareView, TenantParams, type Volume,
} from '../../wire/views.ts';
import type { CloudContext, CloudRoutes } from '../context.ts';
import { CLOUD_ERR, CloudError } from '../errors.ts';
import type { JobRecord } from '../jobs.ts';
import type { ModelVersion } from '../registry.ts';

/** What the view routes read besides the app's database. */
export interface ViewServices {
  /** The transparency log (a getter: the cloud opens it while the app starts). */
  readonly log: () => TransparencyLog;
  /** The jobs (a job's approvals, reveal shares and t-of-n attempt, as the domain routes show them). */
  readonly jobs: { get(id: string): Promise<JobRecord> };
  /** The model registry's versions (to decide who may see a model). */
  readonly registry: { versions(modelId: string): Promise<ModelVersion[]> };
}

const person = ['person'] as const;
const iso = (v: Date | string | null | undefined): string | null => (v === null || v === undefined ? null : new Date(v).toISOString());
const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
const sizeOf = (note: string): number => Number(note.split('\n')[1]);
/** Jobs in these states can still be approved. */
const APPROVABLE = new Set(['queued', 'running', 'computed']);

interface Member { tenant: string; role: string }
interface FederationRow { id: string; preset: string; members: unknown; receiver: string; min_plants: number; min_records: number; round: string; threshold?: number | null }

async function federationsOf(db: SqlQueryable, tenant: string): Promise<Map<string, FederationRow & { memberList: Member[] }>> {
  const rows = await db.query<FederationRow>('SELECT * FROM cloud_federation ORDER BY id');
  const out = new Map<string, FederationRow & { memberList: Member[] }>();
  for (const r of rows) {
    const memberList = json<Member[]>(r.members);
    if (memberList.some((m) => m.tenant === tenant)) out.set(r.id, { ...r, memberList });
  }
  return out;
}

/** Reveal shares a federation's reveal combines: its threshold t, or every member (additive n-of-n). */
const thresholdOf = (f: FederationRow & { memberList: Member[] }): number => (f.threshold === null || f.threshold === undefined ? f.memberList.length : Number(f.threshold));

function volumeOf(r: { batches: number | string; records: number | string | null; bytes: number | string | null; first: Date | string | null; last: Date | string | null } | undefined): Static<typeof Volume> {
  return { batches: Number(r?.batches ?? 0), records: Number(r?.records ?? 0), bytes: Number(r?.bytes ?? 0), first: iso(r?.first), last: iso(r?.last) };
}

/** UTC day keys `YYYY-MM-DD` of the `days` days ending today. */
function dayKeys(now: Date, days: number): string[] {
  const end = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Array.from({ length: days }, (_, i) => new Date(end - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10));
}

/**
 * The console's view route plugin over `services`, or over the services a factory builds on the
 * app's context when the app starts.
 *
 * @throws {CloudError} at request time: `CLOUD_ERR_NOT_FOUND` for a model the tenant may not see
 * @example
 * ```ts
 * const app = await buildApp({ ...options, routes: [domainRoutes(domain), modelRoutes(models), viewRoutes({ log: () => log, registry })] });
 * ```
 */
export function viewRoutes(given: ViewServices | ((ctx: CloudContext) => Promise<ViewServices>)): CloudRoutes {
  return async (app, ctx) => {
    const s = typeof given === 'function' ? await given(ctx) : given;
    const db = ctx.db;
    const access = { action: 'log.read', tenant: 'tenant', principals: person } as const;

    app.get('/v1/tenants/:tenant/me', {
      schema: { tags: ['console'], summary: 'Who the caller is and which roles it holds in the tenant', params: TenantParams, response: { 200: MeView, ...errorResponses(400, 401, 403) } },
      config: { access },
    }, async (req) => {
      const rows = await db.query<{ role: string }>('SELECT role FROM cloud_role WHERE subject = $1 AND tenant = $2 ORDER BY role', [req.principal!.subject, req.params.tenant]);
      return { subject: req.principal!.subject, tenant: req.params.tenant, roles: rows.map((r) => r.role) };
    });

    app.get('/v1/tenants/:tenant/federations', {
      schema: { tags: ['console'], summary: 'The federations the tenant is a member of, with their ceremony state', params: TenantParams, response: { 200: Type.Array(FederationSummary), ...errorResponses(400, 401, 403) } },
      config: { access },
    }, async (req) => {
      const out: Static<typeof FederationSummary>[] = [];
      for (const f of (await federationsOf(db, req.params.tenant)).values()) {
        const got = f.round === 'ready' ? new Set(f.memberList.map((m) => m.tenant))
          : new Set((await db.query<{ member: string }>('SELECT member FROM cloud_ceremony_share WHERE federation = $1 AND round = $2', [f.id, f.round])).map((r) => r.member));
        out.push({
          id: f.id, preset: f.preset, receiver: f.receiver, members: f.memberList.map((m) => ({ tenant: m.tenant, role: m.role })),
          guards: { minPlants: Number(f.min_plants), minRecords: Number(f.min_records) }, threshold: thresholdOf(f), round: f.round,
          missing: f.memberList.filter((m) => !got.has(m.tenant)).map((m) => m.tenant),
        });
      }
      return out;
    });

    app.get('/v1/tenants/:tenant/datasets', {
      schema: { tags: ['console'], summary: 'Datasets of the tenant\'s federations: totals for the owner (when enough plants contributed), the tenant\'s own uploads', params: TenantParams, response: { 200: Type.Array(DatasetSummary), ...errorResponses(400, 401, 403) } },
      config: { access },
    }, async (req) => {
      const tenant = req.params.tenant;
      const feds = await federationsOf(db, tenant);
      const datasets = await db.query<{ id: string; owner: string; federation: string; schema: unknown; retention_days: number }>('SELECT id, owner, federation, schema, retention_days FROM cloud_dataset ORDER BY id');
      type Agg = { dataset: string; plant: string; batches: string; records: string; bytes: string; first: Date; last: Date };
      const agg = await db.query<Agg>('SELECT dataset, plant, count(*) AS batches, sum(records) AS records, sum(bytes) AS bytes, min(received_at) AS first, max(received_at) AS last FROM cloud_batch GROUP BY dataset, plant');
      const out: Static<typeof DatasetSummary>[] = [];
      for (const d of datasets) {
        const f = feds.get(d.federation);
        if (f === undefined) continue;
        const schema = json<{ features: { name: string }[]; label?: { name: string } }>(d.schema);
        const rows = agg.filter((a) => a.dataset === d.id);
        const sum = rows.reduce((acc, r) => ({
          batches: acc.batches + Number(r.batches), records: acc.records + Number(r.records), bytes: acc.bytes + Number(r.bytes),
          first: acc.first === null || new Date(r.first) < new Date(acc.first) ? r.first : acc.first,
          last: acc.last === null || new Date(r.last) > new Date(acc.last) ? r.last : acc.last,
        }), { batches: 0, records: 0, bytes: 0, first: null as Date | null, last: null as Date | null });
        const mine = rows.find((r) => r.plant === tenant);
        out.push({
          id: d.id, federation: d.federation, owner: d.owner, features: schema.features.map((x) => x.name), label: schema.label?.name ?? null,
          retentionDays: Number(d.retention_days), plants: rows.length,
          total: d.owner === tenant && rows.length >= Number(f.min_plants) ? volumeOf(sum) : null,
          own: mine === undefined ? null : volumeOf(mine),
        });
      }
      return out;
    });

    app.get('/v1/tenants/:tenant/jobs', {
      schema: { tags: ['console'], summary: 'Jobs the tenant submitted, holds a key for, or whose plan uses its plant\'s data; the newest 100', params: TenantParams, response: { 200: Type.Array(JobSummary), ...errorResponses(400, 401, 403) } },
      config: { access },
    }, async (req) => {
      const tenant = req.params.tenant;
      const feds = await federationsOf(db, tenant);
      const rows = await db.query<{ id: string; federation: string; requested_by: string; plants: unknown; created_at: Date; updated_at: Date }>(
        "SELECT id, federation, requested_by, plan->'plants' AS plants, created_at, updated_at FROM cloud_job ORDER BY created_at DESC, id DESC LIMIT 2000");
      const visible = rows.filter((r) => r.requested_by === tenant || json<string[]>(r.plants).includes(tenant) || feds.has(r.federation)).slice(0, 100);
      const parties = new Map((await db.query<FederationRow>('SELECT * FROM cloud_federation')).map((f) => [f.id, thresholdOf({ ...f, memberList: json<Member[]>(f.members) })]));
      const out: Static<typeof JobSummary>[] = [];
      for (const r of visible) {
        const j = await s.jobs.get(r.id);
        out.push({
          id: j.id, federation: j.federation, dataset: j.dataset, requestedBy: j.requestedBy, state: j.state,
          progress: { ...j.progress }, plants: [...j.plan.plants], records: j.plan.records, features: [...j.plan.spec.features], label: j.plan.spec.label === true,
          approvals: [...j.approvals], shares: [...j.shares], parties: parties.get(j.federation) ?? 0, ...(j.activeSet === undefined ? {} : { activeSet: [...j.activeSet] }),
          deadline: j.deadline, createdAt: iso(r.created_at)!, updatedAt: iso(r.updated_at)!, ...(j.error === undefined ? {} : { error: j.error }),
          awaitingApproval: j.plan.plants.includes(tenant) && !j.approvals.includes(tenant) && APPROVABLE.has(j.state),
        });
      }
      return out;
    });

    app.get('/v1/tenants/:tenant/shares', {
      schema: { tags: ['console'], summary: 'Reveal shares the tenant\'s key holder sent (hashes), newest first', params: TenantParams, response: { 200: Type.Array(ShareView), ...errorResponses(400, 401, 403) } },
      config: { access },
    }, async (req) => {
      // Additive federations keep one share per (job, member); t-of-n ones one per (job, attempt, member).
      const rows = await db.query<{ job: string; dataset: string; federation: string; share: string; received_at: Date; attempt: number | null }>(
        `SELECT s.job, j.dataset, j.federation, s.share, s.received_at, s.attempt FROM (
           SELECT job, share, received_at, NULL::integer AS attempt FROM cloud_reveal_share WHERE member = $1
           UNION ALL SELECT job, share, received_at, attempt FROM cloud_threshold_share WHERE member = $1
         ) s JOIN cloud_job j ON j.id = s.job ORDER BY s.received_at DESC, s.job LIMIT 500`,
        [req.params.tenant]);
      return rows.map((r) => ({ job: r.job, dataset: r.dataset, federation: r.federation, sha256: r.share, receivedAt: iso(r.received_at)!, ...(r.attempt === null ? {} : { attempt: Number(r.attempt) }) }));
    });

    app.get('/v1/tenants/:tenant/outbound', {
      schema: { tags: ['console'], summary: 'What left the plant: its batches per dataset, the latest ones, and deletions', params: TenantParams, response: { 200: OutboundView, ...errorResponses(400, 401, 403) } },
      config: { access },
    }, async (req) => {
      const plant = req.params.tenant;
      const per = await db.query<{ dataset: string; federation: string; owner: string; batches: string; records: string; bytes: string; first: Date; last: Date }>(
        `SELECT b.dataset, d.federation, d.owner, count(*) AS batches, sum(b.records) AS records, sum(b.bytes) AS bytes, min(b.received_at) AS first, max(b.received_at) AS last
         FROM cloud_batch b JOIN cloud_dataset d ON d.id = b.dataset WHERE b.plant = $1 GROUP BY b.dataset, d.federation, d.owner ORDER BY b.dataset`, [plant]);
      const recent = await db.query<{ dataset: string; batch_id: string; records: number; bytes: string; t_from: Date; t_to: Date; received_at: Date; content_hash: string }>(
        'SELECT dataset, batch_id, records, bytes, t_from, t_to, received_at, content_hash FROM cloud_batch WHERE plant = $1 ORDER BY received_at DESC, batch_id DESC LIMIT 50', [plant]);
      const deletions = await db.query<{ dataset: string; batch_id: string; records: number; reason: string; deleted_at: Date }>(
        'SELECT dataset, batch_id, records, reason, deleted_at FROM cloud_batch_deletion WHERE plant = $1 ORDER BY deleted_at DESC, batch_id LIMIT 200', [plant]);
      return {
        datasets: per.map((r) => ({ dataset: r.dataset, federation: r.federation, owner: r.owner, volume: volumeOf(r) })),
        recent: recent.map((r) => ({ dataset: r.dataset, batchId: r.batch_id, records: Number(r.records), bytes: Number(r.bytes), from: iso(r.t_from)!, to: iso(r.t_to)!, receivedAt: iso(r.received_at)!, contentHash: r.content_hash })),
        deletions: deletions.map((r) => ({ dataset: r.dataset, batchId: r.batch_id, records: Number(r.records), reason: r.reason, deletedAt: iso(r.deleted_at)! })),
      };
    });

    app.get('/v1/tenants/:tenant/ingest', {
      schema: { tags: ['console'], summary: 'Records and bytes received per UTC day: the tenant\'s own uploads, and (withheld below minPlants) all plants into datasets it owns', params: TenantParams, querystring: IngestQuery, response: { 200: IngestView, ...errorResponses(400, 401, 403) } },
      config: { access },
    }, async (req) => {
      const tenant = req.params.tenant;
      const days = dayKeys(ctx.now(), req.query.days);
      const since = `${days[0]}T00:00:00.000Z`;
      const index = new Map(days.map((d, i) => [d, i]));
      type DayRow = { day: string; dataset: string; records: string; bytes: string; plants: string; min_plants?: number };
      const own = await db.query<DayRow>(
        `SELECT to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, dataset, sum(records) AS records, sum(bytes) AS bytes, 1 AS plants
         FROM cloud_batch WHERE plant = $1 AND received_at >= $2::timestamptz GROUP BY 1, 2`, [tenant, since]);
      const owned = await db.query<DayRow>(
        `SELECT to_char(b.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, b.dataset, sum(b.records) AS records, sum(b.bytes) AS bytes, count(DISTINCT b.plant) AS plants, f.min_plants
         FROM cloud_batch b JOIN cloud_dataset d ON d.id = b.dataset JOIN cloud_federation f ON f.id = d.federation
         WHERE d.owner = $1 AND b.received_at >= $2::timestamptz GROUP BY 1, 2, f.min_plants`, [tenant, since]);
      const series = (rows: DayRow[], withhold: boolean) => {
        const byDataset = new Map<string, { dataset: string; records: (number | null)[]; bytes: (number | null)[] }>();
        for (const r of rows) {
          const i = index.get(r.day);
          if (i === undefined) continue;
          let s = byDataset.get(r.dataset);
          if (s === undefined) byDataset.set(r.dataset, s = { dataset: r.dataset, records: days.map(() => 0), bytes: days.map(() => 0) });
          const hidden = withhold && Number(r.plants) < Number(r.min_plants);
          s.records[i] = hidden ? null : Number(r.records);
          s.bytes[i] = hidden ? null : Number(r.bytes);
        }
        return [...byDataset.values()].sort((a, b) => a.dataset.localeCompare(b.dataset));
      };
      return { days, own: series(own, false), owned: series(owned, true) };
    });

    app.get('/v1/tenants/:tenant/log/entries', {
      schema: { tags: ['console'], summary: 'The tenant\'s transparency-log entries, newest first (prove each with GET …/log/entries/{index})', params: TenantParams, querystring: LogEntriesQuery, response: { 200: LogEntriesView, ...errorResponses(400, 401, 403) } },
      config: { access },
    }, async (req) => {
      const log = s.log();
      const size = sizeOf(await log.getCheckpoint());
      const before = Math.min(req.query.before ?? size, size);
      const { kind, limit } = req.query;
      // The entries are canonical JSON (src/trust/events.ts): filter by tenant (and kind) in SQL.
      const rows = await log.store.sql.query<{ idx: string | number; data: unknown }>(
        `SELECT idx, data FROM trust_log_entry WHERE log_id = $1 AND idx < $2
           AND convert_from(data, 'UTF8')::jsonb->>'tenant' = $3 AND ($4::text IS NULL OR convert_from(data, 'UTF8')::jsonb->>'kind' = $4)
         ORDER BY idx DESC LIMIT $5`, [log.store.logId, before, req.params.tenant, kind ?? null, limit + 1]);
      const page = rows.slice(0, limit);
      const entries = await Promise.all(page.map(async (r) => ({ index: Number(r.idx), event: await log.event(Number(r.idx)) })));
      return { size, entries, ...(rows.length > limit ? { next: entries.at(-1)!.index } : {}) };
    });

    app.get('/v1/tenants/:tenant/models/:model/inference', {
      schema: { tags: ['console'], summary: 'A model\'s inference summaries per UTC day from the log: the fleet\'s (owner; days with fewer reporting plants than the federation\'s minPlants withheld) or the tenant\'s own', params: ModelInferenceParams, querystring: IngestQuery, response: { 200: InferenceView, ...errorResponses(400, 401, 403, 404) } },
      config: { access },
    }, async (req) => {
      const { tenant, model } = req.params;
      const versions = await s.registry.versions(model).catch(() => [] as ModelVersion[]);
      const owner = versions.some((v) => v.owner === tenant);
      if (!owner && !versions.some((v) => v.lineage.plants.includes(tenant))) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot read inference summaries: no model ${JSON.stringify(model)}`);
      const minPlants = owner ? Number((await db.query<{ min_plants: number }>('SELECT min_plants FROM cloud_federation WHERE id = $1', [versions[0]!.lineage.federation]))[0]?.min_plants ?? 1) : 1;
      const log = s.log();
      const days = dayKeys(ctx.now(), req.query.days);
      const index = new Map(days.map((d, i) => [d, i]));
      const rows = await log.store.sql.query<{ data: unknown }>(
        `SELECT data FROM trust_log_entry WHERE log_id = $1 AND convert_from(data, 'UTF8')::jsonb->>'kind' = 'inference_summary'
           AND convert_from(data, 'UTF8')::jsonb->'details'->>'model' = $2 AND ($3::text IS NULL OR convert_from(data, 'UTF8')::jsonb->>'tenant' = $3) ORDER BY idx`,
        [log.store.logId, model, owner ? null : tenant]);
      const inferences = days.map(() => 0);
      const abstained = days.map(() => 0);
      const reporting = days.map(() => new Set<string>());
      for (const r of rows) {
        const e: LogEvent = decodeEvent(bytesFromRow(r.data));
        const i = index.get(e.time.slice(0, 10));
        if (i === undefined) continue;
        inferences[i]! += Number(e.details.inferences);
        abstained[i]! += Number(e.details.abstained);
        reporting[i]!.add(e.tenant);
      }
      const hide = (i: number): boolean => owner && reporting[i]!.size > 0 && reporting[i]!.size < minPlants;
      return {
        scope: owner ? 'fleet' as const : 'plant' as const, days,
        inferences: inferences.map((v, i) => (hide(i) ? null : v)), abstained: abstained.map((v, i) => (hide(i) ? null : v)),
      };
    });
  };
}

