import type { TruthEvent } from '../src/types';
import type { DiagnosisContext, DiagnosisEngine } from './diagnosisTypes';
import type { Diagnosis } from './reportTypes';

// Built-in root-cause rules (rate_limited, auth_failure, … crash). See issue #6; the engine is
// filled in there. Until then the built-in engine reports nothing and only user rules run.
class BuiltInDiagnoses implements DiagnosisEngine {
  observe(_event: TruthEvent): void {}
  diagnose(_context: DiagnosisContext): Diagnosis[] {
    return [];
  }
}

export function builtInDiagnosisEngine(): DiagnosisEngine {
  return new BuiltInDiagnoses();
}

const SEVERITY_RANK: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/** Most severe first, then most confident, then most evidence. */
export function rankDiagnoses(diagnoses: Diagnosis[]): Diagnosis[] {
  return [...diagnoses].sort(
    (a, b) =>
      (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9) ||
      b.confidence - a.confidence ||
      b.evidence.count - a.evidence.count,
  );
}
