#!/usr/bin/env node
// The `pix2pix` command: runs the TypeScript sources through tsx, so the
// library needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
