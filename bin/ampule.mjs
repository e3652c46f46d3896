#!/usr/bin/env node
// The `ampule` command: runs the bundled CLI built by `npm run build` (npm install runs it).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli.mjs', import.meta.url));
if (!existsSync(cli)) {
  console.error('ampule: dist/cli.mjs is missing; run `npm run build` in the ampule folder first.');
  process.exit(1);
}
const { main } = await import(cli);
process.exitCode = await main(process.argv.slice(2));
