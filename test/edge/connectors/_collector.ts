/** Collects connector events in tests. Exports only. */
import type { RawEvent } from '../../../src/edge/sample.ts';

/** Collects events and lets a test wait until a condition on them holds. */
export class Collector {
  readonly events: RawEvent[] = [];
  #waiters: { check: () => boolean; resolve: () => void }[] = [];

  readonly onEvent = (event: RawEvent): void => {
    this.events.push(event);
    this.#waiters = this.#waiters.filter((w) => { if (w.check()) { w.resolve(); return false; } return true; });
  };

  /** Resolves when `check()` holds; rejects after `timeoutMs`. */
  until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      this.#waiters.push({ check, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  samples(machineId?: string): Extract<RawEvent, { kind: 'sample' }>[] {
    return this.events.filter((e) => e.kind === 'sample' && (machineId === undefined || e.machineId === machineId)) as Extract<RawEvent, { kind: 'sample' }>[];
  }

  gaps(machineId?: string): Extract<RawEvent, { kind: 'gap' }>[] {
    return this.events.filter((e) => e.kind === 'gap' && (machineId === undefined || e.machineId === machineId)) as Extract<RawEvent, { kind: 'gap' }>[];
  }
}

/** Resolves when `check()` holds (polled every 10 ms); rejects after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
