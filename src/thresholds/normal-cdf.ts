/**
 * The standard normal CDF, from the complementary error function of Numerical Recipes
 * (erfc by Chebyshev fit, fractional error below 1.2e-7 everywhere), which is plenty for
 * an anomaly probability and keeps the thresholds free of a math dependency.
 *
 * @example
 * normalCdf(0); // 0.5
 */
export function normalCdf(z: number): number {
  return 1 - 0.5 * erfc(z / Math.SQRT2);
}

function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t *
                              (-1.13520398 +
                                t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}
