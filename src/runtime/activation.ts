/**
 * The local model slot: which version of one model answers at this gateway, how a new version gets
 * there (shadow run, activation, health check, automatic rollback), and a persisted history of
 * which version was active when (DESIGN.md §7).
 *
 * Life of a version:
 *
 * 1. **stage**: a candidate (already verified and loaded, under its output controls) must be of the
 *    same model and **newer** than the active version (`RUNTIME_ERR_DOWNGRADE` otherwise; only
 *    {@link ModelSlots.rollback}, an explicit admin action, goes back), and must not be a version
 *    that failed a health check here before. It is shadow-run at once on the recent local records
 *    (kept in memory only) and then on every live record, beside the active model; its decisions
 *    are never served.
 * 2. **activate**: with an active model, the shadow run must cover `minShadowRecords` records both
 *    models answered, agree on `minAgreement` of them (same class / same anomaly flag / values
 *    within `valueTolerance`), and the candidate must be healthy on them
 *    (`RUNTIME_ERR_SHADOW_CHECK` otherwise). The first activation of a gateway has nothing to
 *    compare with and goes straight to the health check.
 * 3. **health check**: right after the switch, on the recent records (when there are at least
 *    `minHealthRecords`), then on live traffic for `probationRecords` records: the abstention rate
 *    must stay ≤ `maxAbstentionRate` and the model-error rate ≤ `maxErrorRate`. A failure rolls back
 *    **automatically** to the previous version (the failed version is remembered and refused if
 *    staged again); right after activation `activate` then throws `RUNTIME_ERR_HEALTH_CHECK`.
 * 4. **rollback** by an admin: to the previous version or to any version the admin loads, older
 *    ones included; it is recorded with the admin's name and reason.
 *
 * The history is a JSON file (`hedge.activation-history`, version 1) rewritten crash-safely on every
 * change: written to a temporary file in the same directory, fsync'd, renamed over the old one, and
 * the directory fsync'd. A change is persisted before it takes effect, so after a crash the file
 * names the version to {@link ModelSlots.resume}. Raw records are never written.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { aInteger, aNumber, aObject, aString } from './assert.ts';
import { countDecision, emptyCounts, type ControlledModel, type Decision, type DecisionCounts } from './controls.ts';
import { RUNTIME_ERR, RuntimeError, RuntimeTypeError } from './errors.ts';

/**
 * History file format name.
 * @example
 * ```ts
 * JSON.parse(text).format === HISTORY_FORMAT; // 'hedge.activation-history'
 * ```
 */
export const HISTORY_FORMAT = 'hedge.activation-history';
/**
 * History file format version.
 * @example
 * ```ts
 * JSON.parse(text).formatVersion === HISTORY_VERSION; // 1
 * ```
 */
export const HISTORY_VERSION = 1;

/** Thresholds of the shadow run and the health check. */
export interface ActivationPolicy {
  /** Records both models must have answered in the shadow run before activation; default 200. */
  readonly minShadowRecords?: number;
  /** Least agreement on those records, in [0, 1]; default 0.9. */
  readonly minAgreement?: number;
  /** Value models: answers within this agree; default 5 % of the label's schema range. */
  readonly valueTolerance?: number;
  /** Most abstentions per record a healthy model has, in [0, 1]; default 0.2. */
  readonly maxAbstentionRate?: number;
  /** Most model errors per record a healthy model has, in [0, 1]; default 0. */
  readonly maxErrorRate?: number;
  /** Records needed for a health verdict; default 100. */
  readonly minHealthRecords?: number;
  /** Live records after activation under health watch; default 1000. */
  readonly probationRecords?: number;
  /** Recent live records kept in memory for shadow runs and health checks; default 1000. */
  readonly recentRecords?: number;
}

/** Options of {@link ModelSlots.open}. */
export interface SlotsOptions {
  /** The history file (created with its directory if missing). */
  readonly historyPath: string;
  /** The model this slot serves; every version staged must carry this id. */
  readonly modelId: string;
  readonly policy?: ActivationPolicy;
  /** Clock (tests); default `() => new Date()`. */
  readonly now?: () => Date;
}

/** One change of the active version. */
export interface HistoryEntry {
  /** 1, 2, … in order. */
  readonly seq: number;
  /** ISO 8601 UTC instant it took effect. */
  readonly time: string;
  readonly action: 'activate' | 'rollback';
  /** Active version from now on (`null`: none). */
  readonly version: number | null;
  /** SHA-256 of the artifact of `version` (`null` with no version). */
  readonly sha256: string | null;
  readonly previousVersion: number | null;
  /** A rollback the health check triggered (no admin involved). */
  readonly automatic: boolean;
  /** Who: the admin's id, or `runtime` for automatic rollbacks. */
  readonly actor: string;
  readonly reason: string;
}

/** The shadow run of a candidate beside the active model. */
export interface ShadowStats {
  readonly candidateVersion: number;
  /** Records both ran on. */
  readonly records: number;
  /** Records both models answered themselves (no abstention). */
  readonly compared: number;
  readonly agreed: number;
  /** `agreed / compared` (NaN before any comparison). */
  readonly agreement: number;
  /** Value models: mean |candidate − active| over the compared records (NaN otherwise). */
  readonly meanAbsDifference: number;
  /** The candidate's decisions in the shadow run. */
  readonly candidate: DecisionCounts;
}

interface Probation {
  readonly counts: DecisionCounts;
  readonly remaining: number;
}

/**
 * The model slot of one model id at one gateway. Make one with {@link ModelSlots.open}.
 * @example
 * ```ts
 * const slots = await ModelSlots.open({ historyPath: '/var/lib/hedge/models/ai4i-torque.history.json', modelId: 'ai4i-torque' });
 * await slots.stage(createControls(await loadModel(bytes, { expect }), moments, config));
 * await slots.activate({ actor: 'runtime', reason: 'release 5 delivered' });
 * const decision = await slots.predict(record);
 * ```
 */
export class ModelSlots {
  readonly modelId: string;
  readonly historyPath: string;
  readonly #policy: Required<Omit<ActivationPolicy, 'valueTolerance'>> & { valueTolerance?: number };
  readonly #now: () => Date;
  #entries: HistoryEntry[];
  #active: ControlledModel | undefined;
  #previous: ControlledModel | undefined;
  #candidate: { model: ControlledModel; stats: ShadowStats; sumAbs: number } | undefined;
  #probation: Probation | undefined;
  #recent: (readonly number[])[] = [];
  #recentNext = 0;
  #writing: Promise<void> = Promise.resolve();

  private constructor(options: SlotsOptions, entries: HistoryEntry[]) {
    this.modelId = options.modelId;
    this.historyPath = options.historyPath;
    this.#now = options.now ?? (() => new Date());
    const p = options.policy ?? {};
    this.#policy = {
      minShadowRecords: p.minShadowRecords ?? 200,
      minAgreement: p.minAgreement ?? 0.9,
      valueTolerance: p.valueTolerance,
      maxAbstentionRate: p.maxAbstentionRate ?? 0.2,
      maxErrorRate: p.maxErrorRate ?? 0,
      minHealthRecords: p.minHealthRecords ?? 100,
      probationRecords: p.probationRecords ?? 1000,
      recentRecords: p.recentRecords ?? 1000,
    };
    this.#entries = entries;
  }

  /**
   * Opens the slot, reading its history file if it exists (stale temporary files of an
   * interrupted write are removed).
   * @param options - history path, model id, policy, clock
   * @returns the slot; if the history names an active version, {@link ModelSlots.resume} it
   * @throws RuntimeError `RUNTIME_ERR_HISTORY` if the file is unreadable, corrupt or for another model
   * @throws RuntimeTypeError / RuntimeRangeError for malformed options
   * @example
   * ```ts
   * const slots = await ModelSlots.open({ historyPath, modelId: 'ai4i-torque', policy: { minShadowRecords: 500 } });
   * ```
   */
  static async open(options: SlotsOptions): Promise<ModelSlots> {
    const op = 'open model slots';
    aObject(op, 'options', options);
    aString(op, 'options.historyPath', options.historyPath);
    aString(op, 'options.modelId', options.modelId);
    if (options.now !== undefined && typeof options.now !== 'function') throw new RuntimeTypeError(`cannot ${op}: options.now must be a function`);
    checkPolicy(op, options.policy ?? {});
    const dir = path.dirname(options.historyPath);
    const base = path.basename(options.historyPath);
    let text: string | undefined;
    try {
      await mkdir(dir, { recursive: true });
      for (const f of await readdir(dir)) if (f.startsWith(`${base}.`) && f.endsWith('.tmp')) await unlink(path.join(dir, f));
      text = await readFile(options.historyPath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new RuntimeError(RUNTIME_ERR.HISTORY, `cannot ${op}: ${(e as Error).message}`, { cause: e });
      }
    }
    const entries = text === undefined ? [] : parseHistory(op, text, options.modelId);
    return new ModelSlots(options, entries);
  }

  /** The active model, if any. */
  get active(): ControlledModel | undefined {
    return this.#active;
  }

  /** The version the history says is active (also before {@link ModelSlots.resume}); `null` for none. */
  get activeVersion(): number | null {
    return this.#entries.at(-1)?.version ?? null;
  }

  /** The staged candidate's shadow statistics, if one is staged. */
  get shadow(): ShadowStats | undefined {
    return this.#candidate?.stats;
  }

  /** Whether the active model is still under its post-activation health watch. */
  get onProbation(): boolean {
    return this.#probation !== undefined;
  }

  /** Versions that failed a health check here (refused if staged again). */
  get failedVersions(): readonly number[] {
    return this.#entries.filter((e) => e.action === 'rollback' && e.automatic && e.previousVersion !== null).map((e) => e.previousVersion as number);
  }

  /**
   * After a restart: puts back the model the history names as active (no history entry).
   * @param model - the loaded, controlled model of that version
   * @throws RuntimeError `RUNTIME_ERR_MISMATCH` if it is another model id, version or artifact
   *   (SHA-256) than the history's active one; `RUNTIME_ERR_NO_ACTIVE_MODEL` if none is active
   * @example
   * ```ts
   * if (slots.activeVersion !== null) slots.resume(createControls(await loadModel(bytesOf(slots.activeVersion)), moments, config));
   * ```
   */
  resume(model: ControlledModel): void {
    const op = 'resume active model';
    const last = this.#entries.at(-1);
    if (!last || last.version === null) throw new RuntimeError(RUNTIME_ERR.NO_ACTIVE_MODEL, `cannot ${op}: the history of ${this.modelId} names no active version`);
    const m = model.model;
    if (m.modelId !== this.modelId || m.modelVersion !== last.version || m.sha256 !== last.sha256) {
      throw new RuntimeError(RUNTIME_ERR.MISMATCH, `cannot ${op}: got ${m.modelId} v${m.modelVersion} (${m.sha256.slice(0, 12)}…), the history says ${this.modelId} v${last.version} (${String(last.sha256).slice(0, 12)}…)`);
    }
    this.#active = model;
  }

  /**
   * Stages a candidate and shadow-runs it on the recent records beside the active model.
   * @param candidate - the loaded, controlled candidate
   * @returns the shadow statistics so far
   * @throws RuntimeError `RUNTIME_ERR_MISMATCH` (another model id); `RUNTIME_ERR_DOWNGRADE` (not newer
   *   than the active version); `RUNTIME_ERR_HEALTH_CHECK` (this version failed a health check here)
   * @example
   * ```ts
   * const stats = await slots.stage(candidate); // stats.agreement, stats.candidate.abstained
   * ```
   */
  async stage(candidate: ControlledModel): Promise<ShadowStats> {
    const op = 'stage candidate';
    const m = candidate.model;
    if (m.modelId !== this.modelId) throw new RuntimeError(RUNTIME_ERR.MISMATCH, `cannot ${op}: it is model '${m.modelId}', this slot serves '${this.modelId}'`);
    const current = this.activeVersion;
    if (current !== null && !(m.modelVersion > current)) {
      throw new RuntimeError(RUNTIME_ERR.DOWNGRADE, `cannot ${op}: version ${m.modelVersion} is not newer than the active version ${current}; only an admin rollback activates an older version`);
    }
    if (this.failedVersions.includes(m.modelVersion)) {
      throw new RuntimeError(RUNTIME_ERR.HEALTH_CHECK, `cannot ${op}: version ${m.modelVersion} failed its health check here and was rolled back; publish a new version`);
    }
    this.#candidate = { model: candidate, stats: emptyShadow(m.modelVersion), sumAbs: 0 };
    const staged = this.#candidate;
    for (const record of this.#recentInOrder()) {
      const a = this.#active ? await this.#active.evaluate(record) : undefined;
      const c = await candidate.evaluate(record);
      if (this.#candidate !== staged) break; // replaced meanwhile
      this.#addShadow(a, c);
    }
    return staged.stats;
  }

  /**
   * Activates the staged candidate (shadow gate, switch, health check).
   * @param options - `actor` (who; `runtime` for an automatic update) and `reason`
   * @returns the history entry of the activation
   * @throws RuntimeError `RUNTIME_ERR_NO_ACTIVE_MODEL` if nothing is staged; `RUNTIME_ERR_SHADOW_CHECK`
   *   if the shadow run does not meet the policy (nothing changes); `RUNTIME_ERR_HEALTH_CHECK` if the
   *   health check on the recent records failed (it was rolled back, and the failure recorded);
   *   `RUNTIME_ERR_HISTORY` if the history cannot be written (nothing changes)
   * @example
   * ```ts
   * await slots.activate({ actor: 'runtime', reason: 'TUF target ai4i-torque v5' });
   * ```
   */
  async activate(options: { actor: string; reason: string }): Promise<HistoryEntry> {
    const op = 'activate candidate';
    aObject(op, 'options', options);
    aString(op, 'options.actor', options.actor);
    aString(op, 'options.reason', options.reason);
    const staged = this.#candidate;
    if (!staged) throw new RuntimeError(RUNTIME_ERR.NO_ACTIVE_MODEL, `cannot ${op}: no candidate is staged`);
    const v = staged.model.model.modelVersion;
    const p = this.#policy;
    if (this.#active) {
      const s = staged.stats;
      const problem = healthProblem(s.candidate, p)
        ?? (s.compared < p.minShadowRecords
          ? `the shadow run compared ${s.compared} records, ${p.minShadowRecords} are needed`
          : !(s.agreement >= p.minAgreement)
            ? `the candidate agrees with the active version on ${fmt(s.agreement)} of records, ${p.minAgreement} is needed`
            : null);
      if (problem) throw new RuntimeError(RUNTIME_ERR.SHADOW_CHECK, `cannot ${op}: version ${v}: ${problem}`);
    }
    const entry = await this.#record('activate', staged.model, false, options.actor, options.reason);
    this.#previous = this.#active;
    this.#active = staged.model;
    this.#candidate = undefined;
    this.#probation = { counts: emptyCounts(), remaining: p.probationRecords };
    const recent = this.#recentInOrder();
    if (recent.length >= p.minHealthRecords) {
      let counts = emptyCounts();
      for (const r of recent) counts = countDecision(counts, await staged.model.evaluate(r));
      const problem = healthProblem(counts, p);
      if (problem) {
        await this.#autoRollback(problem);
        throw new RuntimeError(RUNTIME_ERR.HEALTH_CHECK, `cannot ${op}: version ${v} failed its health check on ${counts.records} recent records (${problem}); rolled back to ${this.activeVersion === null ? 'no active version' : `version ${this.activeVersion}`}`);
      }
    }
    return entry;
  }

  /**
   * An admin rollback: to the previous version, or to the version the admin loads (older ones too).
   * @param options - `actor` (the admin), `reason`, `to` (a loaded, controlled model of this model id)
   * @returns the history entry
   * @throws RuntimeError `RUNTIME_ERR_NO_ACTIVE_MODEL` with no `to` and no previous version in
   *   memory; `RUNTIME_ERR_MISMATCH` for another model id; `RUNTIME_ERR_HISTORY` if the history
   *   cannot be written (nothing changes)
   * @example
   * ```ts
   * await slots.rollback({ actor: 'admin@plant-a', reason: 'v5 mispredicts on line 3', to: v4 });
   * ```
   */
  async rollback(options: { actor: string; reason: string; to?: ControlledModel }): Promise<HistoryEntry> {
    const op = 'roll back';
    aObject(op, 'options', options);
    aString(op, 'options.actor', options.actor);
    aString(op, 'options.reason', options.reason);
    const target = options.to ?? this.#previous;
    if (!target) throw new RuntimeError(RUNTIME_ERR.NO_ACTIVE_MODEL, `cannot ${op}: no previous version is loaded; pass the version to roll back to as 'to'`);
    if (target.model.modelId !== this.modelId) throw new RuntimeError(RUNTIME_ERR.MISMATCH, `cannot ${op}: it is model '${target.model.modelId}', this slot serves '${this.modelId}'`);
    const entry = await this.#record('rollback', target, false, options.actor, options.reason);
    this.#previous = this.#active;
    this.#active = target;
    this.#probation = undefined;
    this.#candidate = undefined;
    return entry;
  }

  /**
   * Answers one live record with the active model under its controls (counted there), shadow-runs
   * the candidate, and keeps the record in the in-memory recent buffer. During probation a failing
   * health verdict rolls back automatically (recorded) before this returns.
   * @param record - raw values, schema order
   * @returns the active model's decision
   * @throws RuntimeError `RUNTIME_ERR_NO_ACTIVE_MODEL` if no model is active; `RUNTIME_ERR_HISTORY`
   *   if an automatic rollback cannot be recorded
   * @throws RuntimeTypeError / RuntimeRangeError for a malformed record
   * @example
   * ```ts
   * const { answer, source } = await slots.predict([298.1, 308.6, 1551, 42.8, 0]);
   * ```
   */
  async predict(record: readonly number[]): Promise<Decision> {
    const active = this.#active;
    if (!active) throw new RuntimeError(RUNTIME_ERR.NO_ACTIVE_MODEL, `cannot predict: no version of ${this.modelId} is active`);
    const decision = await active.predict(record);
    this.#remember(record);
    const staged = this.#candidate;
    if (staged) {
      const c = await staged.model.evaluate(record);
      if (this.#candidate === staged && this.#active === active) this.#addShadow(decision, c);
    }
    const probation = this.#probation;
    if (probation && this.#active === active) {
      const counts = countDecision(probation.counts, decision);
      const problem = counts.records >= this.#policy.minHealthRecords ? healthProblem(counts, this.#policy) : null;
      if (problem) {
        this.#probation = undefined;
        await this.#autoRollback(`${problem} in ${counts.records} live records after activation`);
      } else {
        this.#probation = probation.remaining > 1 ? { counts, remaining: probation.remaining - 1 } : undefined;
      }
    }
    return decision;
  }

  /**
   * The history, oldest first, optionally filtered.
   * @param filter - `since` / `until` (inclusive instants), `version` (entries making it active)
   * @returns matching entries
   * @throws RuntimeRangeError for an invalid date
   * @example
   * ```ts
   * slots.history({ since: '2026-11-01T00:00:00.000Z', version: 4 });
   * ```
   */
  history(filter: { since?: string | Date; until?: string | Date; version?: number } = {}): readonly HistoryEntry[] {
    const since = filter.since === undefined ? -Infinity : instant('query history', 'since', filter.since);
    const until = filter.until === undefined ? Infinity : instant('query history', 'until', filter.until);
    return this.#entries.filter((e) => {
      const t = Date.parse(e.time);
      return t >= since && t <= until && (filter.version === undefined || e.version === filter.version);
    });
  }

  /**
   * Which version was active at an instant (per the history).
   * @param time - the instant
   * @returns the version and the entry that made it active, or `null` if none was
   * @throws RuntimeRangeError for an invalid date
   * @example
   * ```ts
   * slots.activeAt('2026-11-20T08:00:00.000Z')?.version; // 4
   * ```
   */
  activeAt(time: string | Date): { version: number; since: HistoryEntry } | null {
    const t = instant('query history', 'time', time);
    let found: HistoryEntry | undefined;
    for (const e of this.#entries) if (Date.parse(e.time) <= t) found = e;
    return found && found.version !== null ? { version: found.version, since: found } : null;
  }

  async #autoRollback(reason: string): Promise<void> {
    const target = this.#previous;
    await this.#record('rollback', target, true, 'runtime', `health check failed: ${reason}`);
    this.#active = target;
    this.#previous = undefined;
    this.#probation = undefined;
  }

  async #record(action: HistoryEntry['action'], model: ControlledModel | undefined, automatic: boolean, actor: string, reason: string): Promise<HistoryEntry> {
    const entry: HistoryEntry = Object.freeze({
      seq: this.#entries.length + 1,
      time: this.#now().toISOString(),
      action,
      version: model?.model.modelVersion ?? null,
      sha256: model?.model.sha256 ?? null,
      previousVersion: this.activeVersion,
      automatic,
      actor,
      reason,
    });
    const entries = [...this.#entries, entry];
    const write = this.#writing.then(() => writeHistory(this.historyPath, this.modelId, entries));
    this.#writing = write.catch(() => {});
    await write;
    this.#entries = entries;
    return entry;
  }

  #remember(record: readonly number[]): void {
    const n = this.#policy.recentRecords;
    const copy = Array.from(record);
    if (this.#recent.length < n) this.#recent.push(copy);
    else this.#recent[this.#recentNext] = copy;
    this.#recentNext = (this.#recentNext + 1) % n;
  }

  #recentInOrder(): (readonly number[])[] {
    return this.#recent.length < this.#policy.recentRecords
      ? [...this.#recent]
      : [...this.#recent.slice(this.#recentNext), ...this.#recent.slice(0, this.#recentNext)];
  }

  #addShadow(active: Decision | undefined, candidate: Decision): void {
    const staged = this.#candidate!;
    const s = staged.stats;
    let compared = s.compared;
    let agreed = s.agreed;
    if (active && !active.abstained && !candidate.abstained) {
      compared += 1;
      if (typeof active.answer === 'number' && typeof candidate.answer === 'number') {
        const diff = Math.abs(active.answer - candidate.answer);
        staged.sumAbs += diff;
        if (diff <= this.#tolerance(staged.model)) agreed += 1;
      } else if (active.answer === candidate.answer) {
        agreed += 1;
      }
    }
    const isValue = staged.model.model.output === 'value';
    staged.stats = Object.freeze({
      candidateVersion: s.candidateVersion,
      records: s.records + 1,
      compared,
      agreed,
      agreement: compared > 0 ? agreed / compared : Number.NaN,
      meanAbsDifference: isValue && compared > 0 ? staged.sumAbs / compared : Number.NaN,
      candidate: countDecision(s.candidate, candidate),
    });
  }

  #tolerance(model: ControlledModel): number {
    if (this.#policy.valueTolerance !== undefined) return this.#policy.valueTolerance;
    const label = model.model.schema.label;
    return label?.kind === 'continuous' ? 0.05 * (label.hi - label.lo) : 0;
  }
}

function emptyShadow(version: number): ShadowStats {
  return Object.freeze({ candidateVersion: version, records: 0, compared: 0, agreed: 0, agreement: Number.NaN, meanAbsDifference: Number.NaN, candidate: emptyCounts() });
}

/** The health verdict of decision counts: `null` if healthy, else the reason. */
function healthProblem(c: DecisionCounts, p: { maxAbstentionRate: number; maxErrorRate: number }): string | null {
  if (c.records === 0) return null;
  const errors = c.reasons.model_error / c.records;
  if (errors > p.maxErrorRate) return `model error rate ${fmt(errors)} > ${p.maxErrorRate}`;
  const abstained = c.abstained / c.records;
  if (abstained > p.maxAbstentionRate) return `abstention rate ${fmt(abstained)} > ${p.maxAbstentionRate}`;
  return null;
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : String(x));

function checkPolicy(op: string, p: ActivationPolicy): void {
  aObject(op, 'options.policy', p);
  if (p.minShadowRecords !== undefined) aInteger(op, 'policy.minShadowRecords', p.minShadowRecords, 1);
  if (p.minAgreement !== undefined) aNumber(op, 'policy.minAgreement', p.minAgreement, 0, 1);
  if (p.valueTolerance !== undefined) aNumber(op, 'policy.valueTolerance', p.valueTolerance, 0);
  if (p.maxAbstentionRate !== undefined) aNumber(op, 'policy.maxAbstentionRate', p.maxAbstentionRate, 0, 1);
  if (p.maxErrorRate !== undefined) aNumber(op, 'policy.maxErrorRate', p.maxErrorRate, 0, 1);
  if (p.minHealthRecords !== undefined) aInteger(op, 'policy.minHealthRecords', p.minHealthRecords, 1);
  if (p.probationRecords !== undefined) aInteger(op, 'policy.probationRecords', p.probationRecords, 0);
  if (p.recentRecords !== undefined) aInteger(op, 'policy.recentRecords', p.recentRecords, 1);
}

function instant(op: string, name: string, value: string | Date): number {
  const t = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  aNumber(op, name, t);
  return t;
}

function parseHistory(op: string, text: string, modelId: string): HistoryEntry[] {
  const bad = (reason: string, cause?: unknown): RuntimeError =>
    new RuntimeError(RUNTIME_ERR.HISTORY, `cannot ${op}: the history file is corrupt: ${reason}; restore it from a backup or the transparency log`, cause === undefined ? undefined : { cause });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad('not JSON', e);
  }
  const h = json as Record<string, unknown>;
  if (typeof json !== 'object' || json === null || h.format !== HISTORY_FORMAT || h.formatVersion !== HISTORY_VERSION) throw bad(`not a ${HISTORY_FORMAT} version ${HISTORY_VERSION} file`);
  if (h.modelId !== modelId) throw new RuntimeError(RUNTIME_ERR.HISTORY, `cannot ${op}: the history file is for model ${JSON.stringify(h.modelId)}, not '${modelId}'`);
  if (!Array.isArray(h.entries)) throw bad('entries is not an array');
  const version = (v: unknown): v is number | null => v === null || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1);
  let last = -Infinity;
  let active: number | null = null;
  return h.entries.map((e: unknown, i: number): HistoryEntry => {
    const x = e as Record<string, unknown>;
    const t = typeof x?.time === 'string' ? Date.parse(x.time) : Number.NaN;
    if (
      typeof e !== 'object' || e === null || x.seq !== i + 1 || !(t >= last) || (x.action !== 'activate' && x.action !== 'rollback')
      || !version(x.version) || !version(x.previousVersion) || x.previousVersion !== active || typeof x.automatic !== 'boolean'
      || typeof x.actor !== 'string' || typeof x.reason !== 'string' || (x.sha256 !== null && (typeof x.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(x.sha256)))
      || (x.version === null) !== (x.sha256 === null)
    ) {
      throw bad(`entry ${i + 1} is malformed or out of order`);
    }
    last = t;
    active = x.version as number | null;
    return Object.freeze({
      seq: i + 1, time: x.time as string, action: x.action, version: x.version as number | null, sha256: x.sha256 as string | null,
      previousVersion: x.previousVersion as number | null, automatic: x.automatic, actor: x.actor, reason: x.reason,
    });
  });
}

/** Crash-safe replace: temp file in the same directory, fsync, rename, fsync the directory. */
async function writeHistory(file: string, modelId: string, entries: readonly HistoryEntry[]): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const text = `${JSON.stringify({ format: HISTORY_FORMAT, formatVersion: HISTORY_VERSION, modelId, entries }, null, 1)}\n`;
  try {
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    const dir = await open(path.dirname(file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw new RuntimeError(RUNTIME_ERR.HISTORY, `cannot write activation history: ${(e as Error).message}`, { cause: e });
  }
}
