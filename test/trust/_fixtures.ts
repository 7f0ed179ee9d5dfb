/** Shared fixtures for the trust tests: one valid event per catalogue kind. */
import type { EventKind, LogEvent } from '../../src/trust/events.ts';
import { hashPayload } from '../../src/trust/events.ts';

const DETAILS: Record<EventKind, Record<string, string | number>> = {
  key_ceremony: { ceremony: 'ceremony-1', step: 'public_share' },
  ingest: { dataset: 'spindle-vibration', records: 4096 },
  job: { dataset: 'spindle-vibration', state: 'approved' },
  decryption_share: { round: 'round-7', ciphertext: hashPayload(new TextEncoder().encode('ct')) },
  release: { model: 'ridge-spindle', version: 3 },
  deployment: { model: 'ridge-spindle', version: 3, fleet: 'fleet-a' },
  activation: { model: 'ridge-spindle', version: 3, action: 'activate' },
  inference_summary: { model: 'ridge-spindle', version: 3, inferences: 1000, abstained: 4 },
  access_denied: { action: 'job.approve', resource: 'job-17' },
  deletion: { dataset: 'spindle-vibration', records: 4096, reason: 'retention' },
};

/** A valid event of `kind`; `n` varies the subject and time. */
export function sampleEvent(kind: EventKind, n = 0, payload: Uint8Array = new TextEncoder().encode(`payload ${n}`)): LogEvent {
  return {
    kind,
    time: new Date(Date.UTC(2025, 0, 1) + n * 1000).toISOString(),
    actor: 'gateway.plant-a',
    tenant: 'plant-a',
    subject: `${kind}-${n}`,
    payloadHash: hashPayload(payload),
    details: DETAILS[kind],
  };
}
