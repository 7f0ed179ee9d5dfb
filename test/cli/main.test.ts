import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram, main } from '../../src/cli/main.ts';

test('hedge --help lists the program and exits 0', async () => {
  let out = '';
  const program = buildProgram().exitOverride().configureOutput({ writeOut: (s) => { out += s; } });
  await assert.rejects(program.parseAsync(['node', 'hedge', '--help']), { code: 'commander.helpDisplayed' });
  assert.match(out, /Usage: hedge/);
});

test('an unknown command exits non-zero', async () => {
  const code = await main(['node', 'hedge', 'no-such-command']);
  assert.notEqual(code, 0);
});

test('hedge params lists every preset, secure ones within the 128-bit table', async () => {
  const { presetSummaries } = await import('../../src/cli/params.ts');
  const rows = presetSummaries();
  assert.ok(rows.some((r) => r.name === 'BGV_AGG_8192' && r.secure && r.slots === 8192));
  for (const r of rows) if (r.secure) assert.ok(r.logQP <= r.maxLogQP128);
  assert.ok(rows.filter((r) => !r.secure).every((r) => r.name.startsWith('TEST_INSECURE_')));
});
