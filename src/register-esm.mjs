// `node --import agent-autopsy/register app.mjs`: copied to dist/register.mjs at build time.
// It gives the setup its own URL: imported by the app instead of preloaded, it says it came too late.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('./core.cjs').registerZeroCode(import.meta.url);
