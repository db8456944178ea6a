// Loaded with --import ahead of the preload: records the URL of every module Node.js loads,
// through import or require, and writes them as JSON to RECORD_LOADED_MODULES_TO on exit.
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const loaded = new Set();
registerHooks({
  load(url, context, nextLoad) {
    loaded.add(url);
    return nextLoad(url, context);
  },
});
process.on('exit', () => writeFileSync(process.env.RECORD_LOADED_MODULES_TO, JSON.stringify([...loaded])));
