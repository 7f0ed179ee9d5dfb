/**
 * Access control: every role × action × tenant against an expected matrix
 * written out by hand here (not derived from the policy source), deny by
 * default, and tenant isolation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIONS, ROLES, accessDeniedEvent, createAccessControl, type Role } from '../../src/trust/access/policy.ts';
import { decodeEvent, encodeEvent } from '../../src/trust/events.ts';

// x = allowed in the tenant where the role is held. Columns: plant admin,
// machine builder, cloud operator, auditor, edge gateway.
const EXPECTED = `
action             PA MB CO AU EG
log.read           x  x  .  x  x
audit.evidence     x  .  .  x  .
data.policy.edit   x  .  .  .  .
data.ingest        .  .  .  .  x
ciphertext.store   .  .  x  .  .
dataset.define     .  x  .  .  .
job.submit         .  x  .  .  .
job.approve        x  .  .  .  .
job.run            .  .  x  .  .
key.ceremony.run   .  .  x  .  .
key.ceremony.join  .  x  .  .  x
decryption.share   .  x  .  .  x
model.publish      .  x  .  .  .
model.deploy       .  x  .  .  .
model.activate     x  .  .  .  x
model.rollback     x  .  .  .  .
inference.report   .  .  .  .  x
access.assign      x  .  .  .  .
`;

const COLUMNS: Role[] = ['plant_admin', 'machine_builder', 'cloud_operator', 'auditor', 'edge_gateway'];

function expectedMatrix(): Map<string, boolean> {
  const out = new Map<string, boolean>();
  const rows = EXPECTED.trim().split('\n').slice(1);
  for (const row of rows) {
    const [action, ...cells] = row.trim().split(/\s+/);
    assert.equal(cells.length, COLUMNS.length, row);
    cells.forEach((c, i) => out.set(`${COLUMNS[i]} ${action}`, c === 'x'));
  }
  return out;
}

test('every role × action × tenant matches the expected matrix', async () => {
  const expected = expectedMatrix();
  assert.deepEqual([...new Set([...expected.keys()].map((k) => k.split(' ')[1]))].sort(), [...ACTIONS].sort(), 'matrix covers every action');
  assert.deepEqual([...ROLES].sort(), [...COLUMNS].sort());
  // One subject per role, each holding its role in plant-a only.
  const ac = await createAccessControl(COLUMNS.map((role) => ({ subject: `${role}-user`, role, tenant: 'plant-a' })));
  const tenants = ['plant-a', 'plant-b', 'oem-x'];
  let allowed = 0;
  let checked = 0;
  for (const role of ROLES) {
    for (const action of ACTIONS) {
      for (const tenant of tenants) {
        const want = tenant === 'plant-a' && expected.get(`${role} ${action}`) === true;
        assert.equal(await ac.can(`${role}-user`, tenant, action), want, `${role} ${action} ${tenant}`);
        checked++;
        if (want) allowed++;
      }
    }
  }
  assert.equal(checked, ROLES.length * ACTIONS.length * tenants.length);
  assert.equal(allowed, [...expected.values()].filter(Boolean).length);
});

test('deny by default: unknown subjects, actions, tenants, role-named subjects', async () => {
  const ac = await createAccessControl([{ subject: 'alice', role: 'plant_admin', tenant: 'plant-a' }]);
  assert.equal(await ac.can('mallory', 'plant-a', 'log.read'), false);
  assert.equal(await ac.can('alice', 'plant-a', 'drop.database'), false);
  assert.equal(await ac.can('alice', 'plant-a', ''), false);
  assert.equal(await ac.can('alice', '*', 'job.approve'), false);
  assert.equal(await ac.can('alice', 'plant-a ', 'job.approve'), false);
  assert.equal(await ac.can('plant_admin', 'plant-a', 'job.approve'), false);
  assert.equal(await ac.can('role:plant_admin', 'plant-a', 'job.approve'), false);
  assert.equal(await ac.can(undefined as unknown as string, 'plant-a', 'job.approve'), false);
  await assert.rejects(ac.enforce('alice', 'plant-b', 'job.approve'), { code: 'TRUST_ERR_ACCESS_DENIED' });
  await ac.enforce('alice', 'plant-a', 'job.approve');
  await assert.rejects(createAccessControl([{ subject: 'x', role: 'root' as Role, tenant: 'plant-a' }]), TypeError);
  await assert.rejects(createAccessControl([{ subject: 'role:x', role: 'auditor', tenant: 'plant-a' }]), TypeError);
  await assert.rejects(createAccessControl([{ subject: 'x', role: 'auditor', tenant: 'plant a' }]), TypeError);
});

test('roles are per tenant; assign and revoke take effect', async () => {
  const ac = await createAccessControl([
    { subject: 'carol', role: 'auditor', tenant: 'plant-a' },
    { subject: 'carol', role: 'plant_admin', tenant: 'plant-b' },
  ]);
  assert.equal(await ac.can('carol', 'plant-a', 'job.approve'), false);
  assert.equal(await ac.can('carol', 'plant-b', 'job.approve'), true);
  assert.deepEqual(await ac.rolesOf('carol', 'plant-a'), ['auditor']);
  await ac.assign({ subject: 'carol', role: 'plant_admin', tenant: 'plant-a' });
  assert.equal(await ac.can('carol', 'plant-a', 'job.approve'), true);
  await ac.revoke({ subject: 'carol', role: 'plant_admin', tenant: 'plant-a' });
  assert.equal(await ac.can('carol', 'plant-a', 'job.approve'), false);
  assert.equal(await ac.can('carol', 'plant-a', 'audit.evidence'), true);
});

test('a denial becomes an access_denied log event without the request body', () => {
  const request = new TextEncoder().encode('{"job":"17","secret":"hunter2"}');
  const e = accessDeniedEvent({ subject: 'mallory', tenant: 'plant-a', action: 'job.approve', resource: 'job-17', request, time: new Date(0) });
  const bytes = encodeEvent(e);
  assert.deepEqual(decodeEvent(bytes), e);
  assert.equal(Buffer.from(bytes).includes('hunter2'), false);
});
