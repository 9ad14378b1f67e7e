// Kept in step with package.json: test/consumers.test.ts checks it.
export const VERSION = '0.1.0';
