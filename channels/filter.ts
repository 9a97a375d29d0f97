// Evaluates a declarative filter against a parsed message. A rule passes when any value at its path passes
// (an HL7 field can repeat: "PID-3 eq X" means one of the patient ids is X), except `ne`, which must hold
// for every value, so that "ne X" is exactly "not eq X".
import type { MessageDocument } from './connector.ts';
import type { Filter, FilterRule } from './definition.ts';

export function evaluateFilter(filter: Filter, document: MessageDocument): boolean {
  if ('and' in filter) return filter.and.every((f) => evaluateFilter(f, document));
  if ('or' in filter) return filter.or.some((f) => evaluateFilter(f, document));
  return evaluateRule(filter, document);
}

function evaluateRule(rule: FilterRule, document: MessageDocument): boolean {
  const values = document.getAll(rule.path);
  switch (rule.operator) {
    case 'exists':
      return values.some((v) => v !== '') === (rule.value !== false);
    case 'eq':
      return values.includes(String(rule.value));
    case 'ne':
      return !values.includes(String(rule.value));
    case 'in': {
      const options = Array.isArray(rule.value) ? rule.value : [];
      return values.some((v) => options.includes(v));
    }
    case 'matches': {
      const pattern = compiledPattern(String(rule.value));
      return values.some((v) => pattern.test(v));
    }
  }
}

const patterns = new Map<string, RegExp>();

function compiledPattern(source: string): RegExp {
  let pattern = patterns.get(source);
  if (!pattern) {
    pattern = new RegExp(source);
    patterns.set(source, pattern);
  }
  return pattern;
}
