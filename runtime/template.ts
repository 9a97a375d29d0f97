// Message texts (dispatch notices, cover pages, SMS bodies) are mustache templates: logic-less, so a template an
// administrator saves can only insert values, never run code. A template is parsed when it is saved and refused
// if it names a variable its use does not offer or includes a partial (there are none to include); a typo found
// at save time is a 4xx with its path, where found at send time it would be an empty field in a fax.
import Mustache from 'mustache';
import { ValidationError, expectString } from './validate.ts';

export interface Template {
  readonly source: string;
  /** Fills the template; values are inserted as they are (no HTML escaping: the output is plain text). */
  render(view: Readonly<Record<string, unknown>>): string;
}

type Token = [string, string, number, number, Token[]?, ...unknown[]];

/** Parses `source` and checks every tag against `variables`; throws ValidationError(path, reason). */
export function compileTemplate(source: unknown, variables: readonly string[], path: string): Template {
  const text = expectString(source, path);
  let tokens: Token[];
  try {
    tokens = Mustache.parse(text) as Token[];
  } catch (error) {
    throw new ValidationError(path, `not a valid template: ${error instanceof Error ? error.message : String(error)}`);
  }
  checkTokens(tokens, variables, path);
  return {
    source: text,
    render: (view) => Mustache.render(text, view, undefined, { escape: (value: unknown) => String(value) }),
  };
}

function checkTokens(tokens: readonly Token[], variables: readonly string[], path: string): void {
  for (const [kind, name, , , children] of tokens) {
    if (kind === 'text' || kind === '!' || kind === '=') continue;
    if (kind === '>') throw new ValidationError(path, `partials are not supported ({{> ${name}}})`);
    // A dotted name reads a field of a variable: the variable itself must be known.
    const root = name === '.' ? '.' : (name.split('.')[0] ?? name);
    if (root !== '.' && !variables.includes(root)) {
      throw new ValidationError(path, `unknown variable '${name}' (known: ${variables.join(', ')})`);
    }
    if (children !== undefined) checkTokens(children, variables, path);
  }
}
