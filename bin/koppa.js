#!/usr/bin/env node
// Runs the built CLI (npm run build); during development use `npx tsx src/cli/main.ts`.
import { main } from '../dist/src/cli/main.js';

await main(process.argv.slice(2));
