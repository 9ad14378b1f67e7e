import type { TruthEvent } from '../src/types';
import type { DiagnosisContext, DiagnosisEngine, DiagnosisRule } from './diagnosisTypes';
import { Evidence, eventErrorText } from './Evidence';
import type { Diagnosis } from './reportTypes';

/** Evaluates user-registered rules (see DiagnosisRule) over the event stream. */
export class CustomRuleEngine implements DiagnosisEngine {
  private readonly evidence: Evidence[];

  constructor(private readonly rules: readonly DiagnosisRule[]) {
    for (const rule of rules) validateRule(rule);
    this.evidence = rules.map(() => new Evidence());
  }

  observe(event: TruthEvent): void {
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i];
      let matched = false;
      try {
        matched = rule.match instanceof RegExp ? testRegExp(rule.match, event) : rule.match(event) === true;
      } catch {
        matched = false; // a user's predicate must not break the report
      }
      if (matched) this.evidence[i].add(event, eventErrorText(event) || event.type);
    }
  }

  diagnose(_context: DiagnosisContext): Diagnosis[] {
    const found: Diagnosis[] = [];
    this.rules.forEach((rule, i) => {
      const evidence = this.evidence[i];
      if (evidence.count < (rule.minCount ?? 1)) return;
      found.push({
        id: rule.id,
        severity: rule.severity ?? 'medium',
        confidence: rule.confidence ?? 0.6,
        title: rule.title,
        evidence: evidence.toJSON(),
        suggestion: rule.suggestion,
      });
    });
    return found;
  }
}

function testRegExp(pattern: RegExp, event: TruthEvent): boolean {
  pattern.lastIndex = 0;
  if (pattern.test(event.type)) return true;
  const text = eventErrorText(event);
  pattern.lastIndex = 0;
  return text !== '' && pattern.test(text);
}

/** Throws a TypeError naming what is wrong: rules are registered at setup, where a clear error helps. */
export function validateRule(rule: DiagnosisRule): void {
  if (!rule || typeof rule !== 'object') throw new TypeError('agent-autopsy: a diagnosis rule must be an object');
  if (typeof rule.id !== 'string' || !/^[a-z0-9_.-]+$/i.test(rule.id)) {
    throw new TypeError(`agent-autopsy: diagnosis rule id must be a non-empty identifier, got ${JSON.stringify(rule.id)}`);
  }
  if (typeof rule.title !== 'string' || typeof rule.suggestion !== 'string') {
    throw new TypeError(`agent-autopsy: diagnosis rule "${rule.id}" needs a title and a suggestion (strings)`);
  }
  if (!(rule.match instanceof RegExp) && typeof rule.match !== 'function') {
    throw new TypeError(`agent-autopsy: diagnosis rule "${rule.id}" needs match: a RegExp or (event) => boolean`);
  }
}
