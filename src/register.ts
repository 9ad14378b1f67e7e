/**
 * Zero-code setup: `node --require agent-autopsy/register app.cjs` (and, through register.mjs,
 * `node --import agent-autopsy/register app.mjs`). Configured from the environment.
 */
import { init } from './runtime';

init();
