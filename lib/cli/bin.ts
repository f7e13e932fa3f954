#!/usr/bin/env node
// The `pix2pix` command of the published package, compiled to dist/cli/bin.js.
// In the repository, lib/cli/bin.mjs runs the same main from source through tsx.
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
