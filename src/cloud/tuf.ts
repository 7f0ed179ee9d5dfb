/**
 * The cloud's TUF repository on disk: metadata and targets under `<dataDir>/tuf` (served
 * read-only at `/tuf/…`), the signing keys under `<dataDir>/tuf-keys` as 0600 PKCS #8 files —
 * one per top-level role and one per fleet (`fleet-<id>.key`). The first start creates the
 * repository; every later start reopens it (src/trust/tuf/repository.ts `TufRepository.open`),
 * so versions continue across restarts and gateways keep accepting it.
 */
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exportTufKey, generateTufKey, importTufKey, TufRepository, type TufSigningKey } from '../trust/tuf/repository.ts';
import { CLOUD_ERR, CloudError } from './errors.ts';

const ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
const FLEET_FILE = /^fleet-([A-Za-z0-9][A-Za-z0-9._-]{0,63})\.key$/;

/** The cloud's TUF repository and the keys of its fleets. */
export interface CloudTuf {
  readonly repo: TufRepository;
  /**
   * A fleet's signing key: the one in `tuf-keys/fleet-<fleet>.key`, or a new one written there
   * (0600) before it is used — a start that died before delegating to it reuses the file.
   * @throws {CloudError} `CLOUD_ERR_CONFIG` when the key file is readable by others
   */
  fleetKey(fleet: string): Promise<TufSigningKey>;
}

async function readKey(file: string): Promise<TufSigningKey> {
  const info = await stat(file);
  if ((info.mode & 0o077) !== 0) throw new CloudError(CLOUD_ERR.CONFIG, `cannot start cloud: ${file} is readable by others (chmod 600)`);
  return importTufKey(await readFile(file, 'utf8'));
}


/**
 * Opens (or on first start creates) the cloud's TUF repository under `dataDir`.
 *
 * @throws {CloudError} `CLOUD_ERR_CONFIG` when a key file is readable by others
 * @throws {TrustError} `TRUST_ERR_TUF` when the repository on disk does not match its keys
 * @example
 * ```ts
 * const { repo, fleetKey } = await openCloudTuf('/var/lib/hedge');
 * ```
 */
export async function openCloudTuf(dataDir: string): Promise<CloudTuf> {
  const dir = path.join(dataDir, 'tuf');
  const keysDir = path.join(dataDir, 'tuf-keys');
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  const fileOf = (name: string): string => path.join(keysDir, `${name}.key`);
  const fleetKey = async (fleet: string): Promise<TufSigningKey> => {
    const file = fileOf(`fleet-${fleet}`);
    try {
      return await readKey(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const key = generateTufKey();
    await writeFile(file, exportTufKey(key), { mode: 0o600, flag: 'wx' });
    await chmod(file, 0o600);
    return key;
  };
  let exists = true;
  try {
    await stat(path.join(dir, 'metadata', 'root.json'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    exists = false;
  }
  if (!exists) {
    const keys = { root: generateTufKey(), targets: generateTufKey(), snapshot: generateTufKey(), timestamp: generateTufKey() };
    for (const role of ROLES) {
      // A start that died between writing keys and the root leaves keys behind: replace them.
      await writeFile(fileOf(role), exportTufKey(keys[role]), { mode: 0o600 });
      await chmod(fileOf(role), 0o600);
    }
    return { repo: await TufRepository.create({ dir, keys }), fleetKey };
  }
  const [root, targets, snapshot, timestamp] = await Promise.all(ROLES.map((r) => readKey(fileOf(r))));
  const fleetKeys: Record<string, TufSigningKey[]> = {};
  for (const name of await readdir(keysDir)) {
    const m = FLEET_FILE.exec(name);
    if (m !== null) fleetKeys[m[1]] = [await readKey(path.join(keysDir, name))];
  }
  return { repo: await TufRepository.open({ dir, keys: { root, targets, snapshot, timestamp }, fleetKeys }), fleetKey };
}
