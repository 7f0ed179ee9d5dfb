/**
 * Child process of buffer-crash.test.ts: appends and acks in a loop until it is killed. It reports
 * on stdout (synchronous for pipes on Linux and macOS) only what the buffer acknowledged:
 *   `A id=key …`  an append returned (durable),
 *   `U id=key …`  entries were leased (handed to the "uploader"),
 *   `K id …`      their ack returned.
 * A key is `<run>.<i>`, unique over the whole test. Usage: node buffer-crash-child.ts <file> <run>
 */
import { DurableBuffer } from '../../src/edge/buffer.ts';

const [file, run] = process.argv.slice(2);
const buffer = DurableBuffer.open<string>({ path: file, maxEntries: 1_000_000, whenFull: 'refuse' });
const say = (line: string) => process.stdout.write(`${line}\n`);
say('ready');
for (let i = 0; ;) {
  const n = 1 + (i % 3);
  const keys = Array.from({ length: n }, (_, j) => `${run}.${i + j}`);
  const ids = buffer.append(keys);
  say(`A ${ids.map((id, j) => `${id}=${keys[j]}`).join(' ')}`);
  i += n;
  if (i % 2 === 0) {
    const batch = buffer.lease(3);
    if (batch.length > 0) {
      say(`U ${batch.map((e) => `${e.id}=${e.value}`).join(' ')}`);
      buffer.ack(batch.map((e) => e.id));
      say(`K ${batch.map((e) => e.id).join(' ')}`);
    }
  }
}
