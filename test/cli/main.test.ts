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
