import type { Level, Locale, TruthEvent } from '../src/types';
import { BUILT_IN_DIAGNOSIS_IDS, type DiagnosisContext, type DiagnosisEngine, type DiagnosisRule, type LocalizedText } from './diagnosisTypes';
import { setExplains } from './causalRanking';
import { errorFactsOf, errorSearchText, eventErrorText, eventExample, isErrorEvent } from './eventErrors';
import { eventKind, type EventKind } from './eventKind';
import { Evidence } from './Evidence';
import { normalizeLocale } from './messages';
import type { Diagnosis } from './reportTypes';
import { PropagationTracker } from './rootCause';

const SEVERITIES: ReadonlySet<string> = new Set(['critical', 'high', 'medium', 'low']);
const LEVELS: ReadonlySet<string> = new Set(['INFO', 'WARNING', 'ERROR']);
const BUILT_IN: ReadonlySet<string> = new Set(BUILT_IN_DIAGNOSIS_IDS);

/**
 * Evaluates user-registered rules (see DiagnosisRule) over the event stream. Like the built-in
 * rules, an error that travels up through parent spans counts once, at its origin.
 */
export class CustomRuleEngine implements DiagnosisEngine {
  private readonly evidence: Evidence[];
  private readonly tracker = new PropagationTracker();

  constructor(private readonly rules: readonly DiagnosisRule[]) {
    validateRules(rules);
    this.evidence = rules.map(() => new Evidence());
  }

  observe(event: TruthEvent, kind: EventKind = eventKind(event.type)): void {
    let propagated = false;
    if (isErrorEvent(event, kind)) propagated = this.tracker.observeError(event, eventErrorText(event)) !== undefined;
    else if (kind.ends) this.tracker.observeEnd(event);
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i];
      if (propagated && !rule.countPropagated) continue;
      let matched = false;
      try {
        // A predicate gets its own copy: a change it makes reaches no other rule, nor the evidence.
        matched = ruleMatches(rule, typeof rule.match === 'function' ? copyOf(event) : event);
      } catch {
        matched = false; // a user's predicate must not break the report
      }
      if (matched) {
        // The example is text built per event: only while the evidence still takes examples.
        const evidence = this.evidence[i];
        evidence.add(event, evidence.wantsExamples ? eventExample(event) : undefined);
      }
    }
  }

  diagnose(context: DiagnosisContext): Diagnosis[] {
    const locale = normalizeLocale(context.locale);
    const found: Diagnosis[] = [];
    this.rules.forEach((rule, i) => {
      const evidence = this.evidence[i];
      if (evidence.count < (rule.minCount ?? 1)) return;
      const diagnosis: Diagnosis = {
        id: rule.id,
        severity: rule.severity ?? 'medium',
        confidence: rule.confidence ?? 0.6,
        title: localized(rule.title, locale),
        evidence: evidence.toJSON(),
        suggestion: localized(rule.suggestion, locale),
      };
      if (rule.explains) setExplains(diagnosis, rule.explains);
      found.push(diagnosis);
    });
    return found;
  }
}

/** A copy of the event and of its data (not frozen: Object.freeze cost more than the rest of a rule). */
function copyOf(event: TruthEvent): TruthEvent {
  const data: unknown = event.data;
  const copy = data !== null && typeof data === 'object' ? (Array.isArray(data) ? [...data] : { ...data }) : data;
  return { ...event, data: copy as TruthEvent['data'] };
}

function localized(text: LocalizedText, locale: Locale): string {
  if (typeof text === 'string') return text;
  return text[locale] ?? text.en ?? Object.values(text).find((value) => typeof value === 'string') ?? '';
}

/** True when every condition the rule gives holds for `event`. */
export function ruleMatches(rule: DiagnosisRule, event: TruthEvent): boolean {
  if (rule.eventType !== undefined && !typeMatches(rule.eventType, event.type)) return false;
  if (rule.level !== undefined && !(typeof rule.level === 'string' ? rule.level === event.level : rule.level.includes(event.level))) return false;
  if (rule.error !== undefined) {
    const text = errorSearchText(errorFactsOf(event));
    if (text === '') return false;
    if (typeof rule.error === 'string' ? !text.toLowerCase().includes(rule.error.toLowerCase()) : !testRegExp(rule.error, text)) return false;
  }
  if (rule.match !== undefined) {
    if (rule.match instanceof RegExp) {
      if (!testRegExp(rule.match, event.type) && !testRegExp(rule.match, eventErrorText(event))) return false;
    } else {
      const result: unknown = rule.match(event);
      if (result !== true) {
        ignoreRejection(result);
        return false;
      }
    }
  }
  return true;
}

/** A predicate that returns a promise by mistake never matches, and its rejection must not end the host. */
function ignoreRejection(result: unknown): void {
  if (result === null || (typeof result !== 'object' && typeof result !== 'function')) return;
  try {
    const then = (result as { then?: unknown }).then;
    if (typeof then === 'function') then.call(result, undefined, () => undefined);
  } catch {
    // a hostile thenable: nothing to wait for
  }
}

function typeMatches(pattern: NonNullable<DiagnosisRule['eventType']>, type: string): boolean {
  if (typeof pattern === 'string') return pattern === type;
  if (pattern instanceof RegExp) return testRegExp(pattern, type);
  return pattern.includes(type);
}

function testRegExp(pattern: RegExp, text: string): boolean {
  if (text === '') return false;
  pattern.lastIndex = 0; // a /g or /y pattern keeps state between calls
  return pattern.test(text);
}

function isText(value: unknown): boolean {
  if (typeof value === 'string') return true;
  return !!value && typeof value === 'object' && !Array.isArray(value) && Object.values(value).length > 0 && Object.values(value).every((entry) => typeof entry === 'string');
}

/** Throws a TypeError naming what is wrong: rules are registered at setup, where a clear error helps. */
export function validateRule(rule: DiagnosisRule): void {
  if (!rule || typeof rule !== 'object') throw new TypeError('agent-autopsy: a diagnosis rule must be an object');
  const name = JSON.stringify(rule.id);
  if (typeof rule.id !== 'string' || !/^[a-z0-9_.-]+$/i.test(rule.id)) {
    throw new TypeError(`agent-autopsy: diagnosis rule id must be a non-empty identifier (letters, digits, _ . -), got ${name}`);
  }
  if (BUILT_IN.has(rule.id)) {
    throw new TypeError(`agent-autopsy: diagnosis rule id ${name} is a built-in id; choose another id and list ${name} in explains to replace it`);
  }
  if (!isText(rule.title) || !isText(rule.suggestion)) {
    throw new TypeError(`agent-autopsy: diagnosis rule ${name} needs a title and a suggestion (strings, or { en, 'zh-CN' } objects of strings)`);
  }
  if (rule.match === undefined && rule.eventType === undefined && rule.error === undefined) {
    throw new TypeError(`agent-autopsy: diagnosis rule ${name} needs at least one of match, eventType or error`);
  }
  if (rule.match !== undefined && !(rule.match instanceof RegExp) && typeof rule.match !== 'function') {
    throw new TypeError(`agent-autopsy: diagnosis rule ${name}: match must be a RegExp or (event) => boolean`);
  }
  if (typeof rule.match === 'function' && /^Async/.test(Object.getPrototypeOf(rule.match)?.constructor?.name ?? '')) {
    throw new TypeError(`agent-autopsy: diagnosis rule ${name}: match must answer at once with true or false; an async function returns a promise, which never counts`);
  }
  const eventType = rule.eventType;
  if (eventType !== undefined && typeof eventType !== 'string' && !(eventType instanceof RegExp) && !(Array.isArray(eventType) && eventType.every((type) => typeof type === 'string'))) {
    throw new TypeError(`agent-autopsy: diagnosis rule ${name}: eventType must be a string, an array of strings or a RegExp`);
  }
  if (rule.error !== undefined && typeof rule.error !== 'string' && !(rule.error instanceof RegExp)) {
    throw new TypeError(`agent-autopsy: diagnosis rule ${name}: error must be a RegExp or a string`);
  }
  const levels: readonly unknown[] | undefined = rule.level === undefined ? undefined : Array.isArray(rule.level) ? rule.level : [rule.level];
  if (levels && !levels.every((level) => LEVELS.has(level as Level))) {
    throw new TypeError(`agent-autopsy: diagnosis rule ${name}: level must be INFO, WARNING or ERROR (or a list of them)`);
  }
  if (rule.severity !== undefined && !SEVERITIES.has(rule.severity)) {
    throw new TypeError(`agent-autopsy: diagnosis rule ${name}: severity must be critical, high, medium or low`);
  }
  if (rule.minCount !== undefined && !(Number.isInteger(rule.minCount) && rule.minCount >= 1)) {
    throw new TypeError(`agent-autopsy: diagnosis rule ${name}: minCount must be a whole number of at least 1`);
  }
  if (rule.confidence !== undefined && !(typeof rule.confidence === 'number' && rule.confidence >= 0 && rule.confidence <= 1)) {
    throw new TypeError(`agent-autopsy: diagnosis rule ${name}: confidence must be a number from 0 to 1`);
  }
  if (rule.explains !== undefined && !(Array.isArray(rule.explains) && rule.explains.every((id) => typeof id === 'string'))) {
    throw new TypeError(`agent-autopsy: diagnosis rule ${name}: explains must be an array of diagnosis ids`);
  }
}

/**
 * Validates each rule, that no two share an id, and what `explains` names: a built-in id or another
 * of these rules (a misspelt id would otherwise replace nothing, silently), never the rule itself
 * or, through other rules, back to it (such rules would all leave the report).
 */
export function validateRules(rules: readonly DiagnosisRule[]): void {
  if (!Array.isArray(rules)) {
    throw new TypeError(`agent-autopsy: rules must be an array of diagnosis rules, got ${rules === null ? 'null' : typeof rules === 'object' ? 'an object (a single rule? wrap it in [ ])' : typeof rules}`);
  }
  const byId = new Map<string, DiagnosisRule>();
  for (const rule of rules) {
    validateRule(rule);
    if (byId.has(rule.id)) throw new TypeError(`agent-autopsy: two diagnosis rules share the id ${JSON.stringify(rule.id)}`);
    byId.set(rule.id, rule);
  }
  for (const rule of rules) {
    for (const id of rule.explains ?? []) {
      if (!BUILT_IN.has(id) && !byId.has(id)) {
        throw new TypeError(`agent-autopsy: diagnosis rule ${JSON.stringify(rule.id)}: explains names ${JSON.stringify(id)}, which is neither a built-in diagnosis id nor the id of another rule`);
      }
    }
  }
  // A cycle through explains: follow each rule's links to other rules, depth first.
  const done = new Set<string>();
  const visit = (id: string, path: string[]): void => {
    const at = path.indexOf(id);
    if (at !== -1) {
      const cycle = [...path.slice(at), id].map((step) => JSON.stringify(step)).join(' → ');
      throw new TypeError(`agent-autopsy: diagnosis rules explain each other in a circle (${cycle}); when they fired, none of them would be reported`);
    }
    if (done.has(id)) return;
    for (const next of byId.get(id)?.explains ?? []) if (byId.has(next)) visit(next, [...path, id]);
    done.add(id);
  };
  for (const rule of rules) visit(rule.id, []);
}
