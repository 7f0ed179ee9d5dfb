#!/usr/bin/env node
// Entry point of the `hedge` command. It runs on the Node pinned in package.json
// (npx and npm scripts put node_modules/.bin first on PATH), which strips
// TypeScript types natively, so the CLI is loaded straight from its source.
import { main } from '../src/cli/main.ts';

process.exitCode = await main(process.argv);
