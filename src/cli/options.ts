import { AeError, ErrorCodes } from '../core/errors';

/**
 * A commander option parser for whole numbers of at least `min`; anything else is a usage
 * error naming the option and the value.
 *
 * @example .option('--epochs <n>', 'training epochs', integer('--epochs', 1))
 */
export function integer(name: string, min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      const what =
        min === 0
          ? 'a non-negative integer'
          : min === 1
            ? 'a positive integer'
            : `an integer >= ${min}`;
      throw new AeError(ErrorCodes.CLI_USAGE, `${name} must be ${what}, got '${value}'`);
    }
    return n;
  };
}

/** A parser for positive numbers (fractions allowed), e.g. rates. */
export function positiveNumber(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!(n > 0) || !Number.isFinite(n)) {
      throw new AeError(ErrorCodes.CLI_USAGE, `${name} must be a positive number, got '${value}'`);
    }
    return n;
  };
}
