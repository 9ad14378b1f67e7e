// `node --import agent-autopsy/register app.mjs`: copied to dist/register.mjs at build time.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('./register.cjs');
