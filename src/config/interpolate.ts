import { isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import type { ConfigIssue } from '../core/errors';

/** Keys whose referenced values are never read as numbers or booleans. */
const CREDENTIAL = /^(password|passphrase|secret|token|key)$/i;

/** `${NAME}` or `${NAME:default}`; `$${` writes a literal `${`. */
const reference = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g;

/**
 * Replaces `${ENV:default}` references in every string scalar of a parsed YAML document.
 * A scalar that is a single reference takes the type its value reads as in YAML, so
 * `window: ${WINDOW:64}` is the number 64; credentials (password, passphrase, secret, token,
 * key) always stay strings. Collects a problem per unset variable
 * without default instead of stopping at the first.
 *
 * @example interpolateEnv(parseDocument('port: ${PORT:9092}'), {}) // { port: 9092 }
 */
export function interpolateEnv(
  doc: ReturnType<typeof parseDocument>,
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[],
): unknown {
  visit(doc.contents, [], env, issues);
  return doc.toJS();
}

function visit(
  node: Node | null | undefined | unknown,
  path: (string | number)[],
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[],
): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      visit(pair.value, [...path, key], env, issues);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => visit(item, [...path, i], env, issues));
  } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
    node.value = substitute(node.value, path, env, issues);
  }
}

function substitute(
  text: string,
  path: (string | number)[],
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[],
): unknown {
  const whole = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}$/.exec(text);
  const replaced = text.replace(reference, (match, name?: string, fallback?: string) => {
    if (match === '$${') return '${';
    const value = env[name as string];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    issues.push({
      path: path.join('.'),
      message: `environment variable ${name} is not set and the reference has no default (write \${${name}:default})`,
    });
    return match;
  });
  // A credential stays the exact text of its variable: a password "007" is not the number 7.
  const credential = CREDENTIAL.test(String(path[path.length - 1] ?? ''));
  return whole && !credential ? readScalar(replaced) : replaced;
}

/** A substituted value read as YAML reads a plain scalar: numbers and booleans keep their type. */
function readScalar(text: string): unknown {
  if (/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}
