/**
 * `@peculiar/x509`, loaded after the Reflect metadata polyfill it needs
 * (its README, "Reflect Polyfill Required": it resolves algorithms through
 * tsyringe). Import x509 from here, never from the package directly, so the
 * polyfill is always loaded first whatever the import order elsewhere.
 * @module
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
