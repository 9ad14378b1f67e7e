import type { ErrorClassId } from './diagnosisTypes';

export type CodeClassId = Extract<ErrorClassId, 'code_syntax_errors' | 'code_runtime_errors'>;

export interface Repaired {
  /** Failing code runs a later successful run in the same stage followed. */
  runs: number;
  stages: Set<string>;
}

/**
 * Failing runs of generated code that a later run in the same stage repaired (the code ran
 * successfully after them: an autofix that worked, a regenerated program). A code error that was
 * repaired is history, not an open problem, and the diagnosis says so. Memory: per stage, the
 * failing runs not yet followed by a successful one.
 */
export class CodeRepairs {
  private readonly pending = new Map<string, Map<CodeClassId, number>>();
  private readonly repaired = new Map<CodeClassId, Repaired>();

  /** A code run in `stage` failed with an error of class `id` (counted at its origin). */
  failed(stage: string, id: CodeClassId): void {
    let byClass = this.pending.get(stage);
    if (!byClass) {
      byClass = new Map();
      this.pending.set(stage, byClass);
    }
    byClass.set(id, (byClass.get(id) ?? 0) + 1);
  }

  /** A code run in `stage` succeeded: the failing runs before it were repaired. */
  succeeded(stage: string): void {
    const byClass = this.pending.get(stage);
    if (!byClass) return;
    this.pending.delete(stage);
    for (const [id, runs] of byClass) {
      let repaired = this.repaired.get(id);
      if (!repaired) {
        repaired = { runs: 0, stages: new Set() };
        this.repaired.set(id, repaired);
      }
      repaired.runs += runs;
      repaired.stages.add(stage);
    }
  }

  of(id: ErrorClassId): Repaired | undefined {
    return this.repaired.get(id as CodeClassId);
  }

  get retained(): number {
    return this.pending.size;
  }
}
