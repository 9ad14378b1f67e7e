import type { AutofixStatistics } from './reportTypes';

export function emptyAutofixStats(): AutofixStatistics {
  return {
    total_attempts: 0,
    successful_fixes: 0,
    failed_fixes: 0,
    // No prototype: a repair type is the app's text, and "constructor" or "__proto__" must count
    // as a key like any other (as in the seed reporter's dict), not hit Object.prototype.
    fixes_by_type: Object.create(null) as Record<string, number>,
    fixes_by_layer: { layer1: 0, layer2: 0, layer3: 0 },
  };
}

/** Normalises a layer given as 1, '1', 'layer1' or 'L1' to `layer1`; undefined when it is none of 1–3. */
export function layerKey(layer: unknown): 'layer1' | 'layer2' | 'layer3' | undefined {
  const digits = String(layer ?? '').match(/[123]$/);
  return digits ? (`layer${digits[0]}` as 'layer1' | 'layer2' | 'layer3') : undefined;
}

/** Counts one repair attempt (by type and layer every attempt counts, as the seed's sample shows). */
export function addAutofixAttempt(stats: AutofixStatistics, attempt: { type?: unknown; layer?: unknown; success: boolean }): void {
  stats.total_attempts++;
  if (attempt.success) stats.successful_fixes++;
  else stats.failed_fixes++;
  if (attempt.type !== undefined && attempt.type !== null) {
    const type = String(attempt.type);
    stats.fixes_by_type[type] = (stats.fixes_by_type[type] ?? 0) + 1;
  }
  const layer = layerKey(attempt.layer);
  if (layer) stats.fixes_by_layer[layer]++;
}

/** An object with `type: "autofix_log"`, the mark the seed's reporter checks before summing a file. */
function isAutofixLog(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value) && (value as { type?: unknown }).type === 'autofix_log';
}

/**
 * Adds an autofix_log.json document to `stats`, exactly as the seed's reporter sums it: only a
 * document whose `type` is "autofix_log" counts. Returns whether it counted.
 */
export function addAutofixLog(stats: AutofixStatistics, log: unknown): boolean {
  if (!isAutofixLog(log)) return false;
  const source = log;
  stats.total_attempts += toCount(source.total_attempts);
  stats.successful_fixes += toCount(source.successful_fixes);
  stats.failed_fixes += toCount(source.failed_fixes);
  const byType = source.fixes_by_type;
  if (byType && typeof byType === 'object') {
    for (const [type, count] of Object.entries(byType)) {
      stats.fixes_by_type[type] = (stats.fixes_by_type[type] ?? 0) + toCount(count);
    }
  }
  const byLayer = (source.fixes_by_layer ?? {}) as Record<string, unknown>;
  for (const layer of ['layer1', 'layer2', 'layer3'] as const) stats.fixes_by_layer[layer] += toCount(byLayer[layer]);
  return true;
}

function toCount(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** The autofix_log.json document for these statistics. */
export function autofixLogDocument(stats: AutofixStatistics): Record<string, unknown> {
  return { type: 'autofix_log', ...stats };
}
