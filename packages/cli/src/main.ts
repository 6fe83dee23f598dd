#!/usr/bin/env node
import { enableCompileCache } from 'node:module';

// Node keeps the code it compiles in a cache on disk (under the system's temporary directory;
// NODE_DISABLE_COMPILE_CACHE=1 turns it off), so later runs skip compiling. It covers only the
// modules loaded after this call, hence the import()s below.
enableCompileCache();
const { run } = await import('./cli.js');
const { processIo } = await import('./io.js');

process.exitCode = await run(process.argv.slice(2), processIo());
