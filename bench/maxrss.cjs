// Preloaded into a measured process (`node --require bench/maxrss.cjs …`): at exit it reports
// its peak resident memory and how long it ran, for bench/common.mjs runChild().
'use strict';
const started = performance.now();
process.on('exit', () => {
  const result = { max_rss_mb: process.resourceUsage().maxRSS / 1024, ms_since_preload: performance.now() - started };
  process.stdout.write(`@@bench-result ${JSON.stringify(result)}\n`);
});
