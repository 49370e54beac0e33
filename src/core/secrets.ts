import { readFileSync } from 'node:fs';
import { ConfigError, ErrorCodes } from './errors';

/**
 * Reads a secret or certificate given inline or as a file. A file's one trailing newline is
 * dropped (editors and `echo` add it). Errors name the setting and the file, never the content.
 *
 * @example readSecret({ passwordFile: '/run/secrets/kafka' }, 'password', 'input.kafka.sasl') // 's3cret'
 */
export function readSecret(
  section: object,
  field: string,
  where: string,
  trim = true,
): string | undefined {
  const values = section as Record<string, unknown>;
  const inline = values[field];
  if (typeof inline === 'string') return inline;
  const file = values[`${field}File`];
  if (typeof file !== 'string') return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(ErrorCodes.CONFIG_FILE_NOT_FOUND, file, [
      {
        path: `${where}.${field}File`,
        message: `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      },
    ]);
  }
  return trim ? text.replace(/\r?\n$/, '') : text;
}

/** Keys whose values are credentials, in any section of a pipeline file. */
const SECRET_KEY = /(password|passphrase|secret|token)$|^key$/i;

/**
 * Every credential value in a parsed pipeline file (values of password, passphrase, secret,
 * token and key fields, at any depth), so messages about the file can be checked against them.
 *
 * @example secretValues({ input: { kafka: { sasl: { password: 'pw' } } } }) // ['pw']
 */
export function secretValues(raw: unknown): string[] {
  const found: string[] = [];
  const walk = (value: unknown, key: string): void => {
    if (Array.isArray(value)) value.forEach((v) => walk(v, key));
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, k);
    } else if (SECRET_KEY.test(key) && (typeof value === 'string' || typeof value === 'number')) {
      const text = String(value);
      if (text.length > 0) found.push(text);
    }
  };
  walk(raw, '');
  return found;
}

/** `text` with every occurrence of a secret replaced by `[redacted]`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a secret that contains another is replaced whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    out = out.split(s).join('[redacted]');
  }
  return out;
}

/**
 * Config issues whose messages never repeat a credential of the file: zod quotes some
 * values it rejects, and a mistyped key can hold a password.
 */
export function redactIssues<T extends { message: string }>(
  issues: readonly T[],
  secrets: readonly string[],
): T[] {
  return issues.map((i) => ({ ...i, message: redact(i.message, secrets) }));
}

/**
 * A JSON.stringify replacer that prints credential values (password, passphrase, secret,
 * token, key fields) as `[redacted]`: for output that shows a resolved pipeline.
 *
 * @example JSON.stringify(config, redactCredentials, 2)
 */
export function redactCredentials(key: string, value: unknown): unknown {
  return SECRET_KEY.test(key) && (typeof value === 'string' || typeof value === 'number')
    ? '[redacted]'
    : value;
}
