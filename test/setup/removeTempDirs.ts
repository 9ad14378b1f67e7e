import { afterAll } from 'vitest';
import { removeTempDirs } from '../helpers/tempDirs';

// Registered before the file's own hooks, so (hooks run as a stack) it runs after them: a run the
// file shuts down in its afterAll has finished writing by then.
afterAll(removeTempDirs);
