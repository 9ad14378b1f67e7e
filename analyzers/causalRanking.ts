import type { Diagnosis } from './reportTypes';

/**
 * Orders diagnoses so a reader meets the cause before its symptoms. Engines say what they know
 * about each diagnosis they return — which other diagnoses caused it (a retry storm caused by
 * rate limiting), and which built-in ones a user rule explains — without changing the report's
 * shape: the links live beside the objects, in a WeakMap.
 */

interface Links {
  causes?: readonly string[];
  explains?: readonly string[];
  /** How the suggestion names its causes, and the suggestion without that: retold when a user rule explains a cause. */
  tell?: { consequenceOf: (causes: string[]) => string; suggestion: string };
}

const links = new WeakMap<Diagnosis, Links>();

/** Declares that `diagnosis` is (at least partly) a consequence of the diagnoses `causes`. */
export function setCauses(diagnosis: Diagnosis, causes: Iterable<string>, consequenceOf?: (causes: string[]) => string): void {
  const list = [...new Set(causes)].filter((id) => id !== diagnosis.id);
  if (list.length === 0) return;
  const tell = consequenceOf ? { consequenceOf, suggestion: diagnosis.suggestion } : undefined;
  links.set(diagnosis, { ...links.get(diagnosis), causes: list, tell });
  if (tell) diagnosis.suggestion = consequenceOf!(list) + tell.suggestion;
}

/** Declares that `diagnosis` (a user rule) explains these built-in ids: they leave the report. */
export function setExplains(diagnosis: Diagnosis, ids: readonly string[]): void {
  if (ids.length > 0) links.set(diagnosis, { ...links.get(diagnosis), explains: [...ids] });
}

export function causesOf(diagnosis: Diagnosis): readonly string[] {
  return links.get(diagnosis)?.causes ?? [];
}

const SEVERITY_RANK: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3 };

export function severityRank(severity: string): number {
  return SEVERITY_RANK[severity] ?? 9;
}

/** Most severe first, then most confident, then most evidence. */
function compare(a: Diagnosis, b: Diagnosis): number {
  return severityRank(a.severity) - severityRank(b.severity) || b.confidence - a.confidence || b.evidence.count - a.evidence.count;
}

/**
 * Ranks diagnoses: a diagnosis comes after every present diagnosis that caused it; among those
 * whose causes are placed, the most severe, then the most confident, then the one with the most
 * evidence comes first (ties keep the input order). Diagnoses a present user rule explains are
 * left out, and their consequences are ranked under that rule instead.
 */
export function rankDiagnoses(diagnoses: Diagnosis[]): Diagnosis[] {
  const explainedBy = new Map<string, string[]>();
  for (const diagnosis of diagnoses) {
    for (const id of links.get(diagnosis)?.explains ?? []) {
      if (id === diagnosis.id) continue;
      explainedBy.set(id, [...(explainedBy.get(id) ?? []), diagnosis.id]);
    }
  }
  const kept = diagnoses.filter((diagnosis) => !explainedBy.has(diagnosis.id));
  const present = new Set(kept.map((diagnosis) => diagnosis.id));
  const pending = kept.map((diagnosis, index) => {
    const causes = new Set<string>();
    for (const cause of causesOf(diagnosis)) {
      for (const id of explainedBy.get(cause) ?? [cause]) if (present.has(id) && id !== diagnosis.id) causes.add(id);
    }
    // The suggestion names the causes the reader will find: a rule that explains one, in its place.
    const tell = links.get(diagnosis)?.tell;
    if (tell && causesOf(diagnosis).some((cause) => explainedBy.has(cause))) {
      diagnosis.suggestion = causes.size > 0 ? tell.consequenceOf([...causes]) + tell.suggestion : tell.suggestion;
    }
    return { diagnosis, index, causes };
  });
  const placed = new Set<string>();
  const ranked: Diagnosis[] = [];
  while (pending.length > 0) {
    let best = -1;
    for (let i = 0; i < pending.length; i++) {
      if (![...pending[i].causes].every((id) => placed.has(id))) continue;
      if (best === -1 || compare(pending[i].diagnosis, pending[best].diagnosis) < 0) best = i;
    }
    // A cycle (two user rules naming each other): fall back to plain order among what is left.
    if (best === -1) {
      best = 0;
      for (let i = 1; i < pending.length; i++) if (compare(pending[i].diagnosis, pending[best].diagnosis) < 0) best = i;
    }
    const [next] = pending.splice(best, 1);
    ranked.push(next.diagnosis);
    placed.add(next.diagnosis.id);
  }
  return ranked;
}
