/**
 * Child of keyholder-crash.test.ts: opens a key holder and asks for a reveal share; the ledger
 * store is patched to write what it committed to `out` and SIGKILL the process right after the
 * commit — between storing the share and returning it.
 */
import { writeFileSync, readFileSync, fsyncSync, openSync, closeSync } from 'node:fs';
import { deserialize } from 'node:v8';
import { engineFor } from '../he/fixture.ts';
import { SqliteLedgerStore } from '../../src/edge/ledger-store.ts';
import { KeyHolder } from '../../src/edge/keyholder.ts';
import { PRESET, UNLOCK } from './_keyholder.ts';

const [dir, requestPath, out] = process.argv.slice(2);
const engine = await engineFor(PRESET);
const { request, receiver, parties, policy } = deserialize(readFileSync(requestPath));
const set = SqliteLedgerStore.prototype.set;
SqliteLedgerStore.prototype.set = function (key: string, value: Uint8Array): void {
  set.call(this, key, value);
  writeFileSync(out, value);
  const fd = openSync(out, 'r');
  fsyncSync(fd);
  closeSync(fd);
  process.kill(process.pid, 'SIGKILL');
};
const kh = await KeyHolder.open({ dir, engine, unlock: UNLOCK, policy, federation: { receiver, parties } });
kh.revealShare(request);
console.log('not killed');
