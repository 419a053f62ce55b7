#!/usr/bin/env node
// Thin launcher: the CLI is compiled from cli/forkbench.ts by `npm run build` (run by npm ci's prepare).
import '../dist/cli/forkbench.js';
