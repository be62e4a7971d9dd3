#!/usr/bin/env node
// Entry point for `npx easel …` and `npm start`: runs the TypeScript sources through tsx,
// so a fresh clone needs only `npm ci` (no build step) before it works.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
