#!/usr/bin/env node
// The `pix2pix` command in the repository: the TypeScript sources through tsx
// (tests and examples run from source). The package's bin is dist/cli/bin.js.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
