import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Every numbered walkthrough under examples/ must run to completion on the pinned Node.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const examples = readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.ts')).sort();

for (const file of examples) {
  test(`examples/${file} runs and exits 0`, () => {
    const run = spawnSync(process.execPath, [path.join('examples', file)], { cwd: root, encoding: 'utf8', timeout: 300_000 });
    assert.equal(run.status, 0, `exit ${run.status}${run.signal ? ` (${run.signal})` : ''}\n${run.stdout}\n${run.stderr}`);
  });
}
