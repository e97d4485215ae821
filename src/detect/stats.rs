//! Tail probabilities of the count distributions the detectors test against: Poisson,
//! negative binomial (for overdispersed counts) and binomial (for error shares).
//!
//! All functions are total: any input (NaN, negative, infinite) gives a probability in
//! `[0, 1]`, never a panic. They are computed through the regularized incomplete gamma and
//! beta functions, so very small tail probabilities (1e-30 and below) stay accurate where
//! summing probability masses would lose them.

/// `ln Γ(x)` for `x > 0` (Lanczos approximation, g = 7, about 15 significant digits).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1-x) = π / sin(πx).
        let s = (std::f64::consts::PI * x)
            .sin()
            .abs()
            .max(f64::MIN_POSITIVE);
        return std::f64::consts::PI.ln() - s.ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

const EPS: f64 = 1e-15;
const TINY: f64 = 1e-300;
const MAX_ITER: usize = 500;

/// `x > lo`, false for NaN (written as a function so the NaN case reads clearly).
fn above(x: f64, lo: f64) -> bool {
    x > lo
}

fn clamp01(p: f64) -> f64 {
    if p.is_nan() {
        1.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

/// Regularized lower incomplete gamma `P(a, x)`.
pub fn gamma_p(a: f64, x: f64) -> f64 {
    if !above(a, 0.0) || x.is_nan() {
        return 1.0;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if x.is_infinite() {
        return 1.0;
    }
    if x < a + 1.0 {
        clamp01(gamma_series(a, x))
    } else {
        clamp01(1.0 - gamma_cont_frac(a, x))
    }
}

/// Regularized upper incomplete gamma `Q(a, x) = 1 - P(a, x)`, accurate when small.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if !above(a, 0.0) || x.is_nan() {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    if x < a + 1.0 {
        clamp01(1.0 - gamma_series(a, x))
    } else {
        clamp01(gamma_cont_frac(a, x))
    }
}

fn gamma_series(a: f64, x: f64) -> f64 {
    let mut ap = a;
    let mut sum = 1.0 / a;
    let mut del = sum;
    for _ in 0..MAX_ITER * 4 {
        ap += 1.0;
        del *= x / ap;
        sum += del;
        if del.abs() < sum.abs() * EPS {
            break;
        }
    }
    sum * (-x + a * x.ln() - ln_gamma(a)).exp()
}

fn gamma_cont_frac(a: f64, x: f64) -> f64 {
    // Modified Lentz evaluation of the continued fraction for Q(a, x).
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..MAX_ITER {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    (-x + a * x.ln() - ln_gamma(a)).exp() * h
}

/// Regularized incomplete beta `I_x(a, b)`.
pub fn beta_i(a: f64, b: f64, x: f64) -> f64 {
    if !(above(a, 0.0) && above(b, 0.0)) || x.is_nan() {
        return 1.0;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use symmetry
    // otherwise.
    if x < (a + 1.0) / (a + b + 2.0) {
        clamp01(front * beta_cont_frac(a, b, x) / a)
    } else {
        clamp01(1.0 - front * beta_cont_frac(b, a, 1.0 - x) / b)
    }
}

fn beta_cont_frac(a: f64, b: f64, x: f64) -> f64 {
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..MAX_ITER {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// `P(X >= k)` for `X ~ Poisson(mean)`.
pub fn poisson_sf(k: u64, mean: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if !above(mean, 0.0) {
        return 0.0;
    }
    gamma_p(k as f64, mean)
}

/// `P(X <= k)` for `X ~ Poisson(mean)`.
pub fn poisson_cdf(k: u64, mean: f64) -> f64 {
    if !above(mean, 0.0) {
        return 1.0;
    }
    gamma_q(k as f64 + 1.0, mean)
}

/// `P(X >= k)` for a negative binomial with this `mean` and variance
/// `mean + dispersion * mean²`; Poisson when `dispersion` is 0.
pub fn nbinom_sf(k: u64, mean: f64, dispersion: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if !above(mean, 0.0) {
        return 0.0;
    }
    if !above(dispersion, 1e-9) {
        return poisson_sf(k, mean);
    }
    let r = 1.0 / dispersion;
    let p = r / (r + mean);
    beta_i(k as f64, r, 1.0 - p)
}

/// `P(X <= k)` for a negative binomial with this `mean` and variance
/// `mean + dispersion * mean²`.
pub fn nbinom_cdf(k: u64, mean: f64, dispersion: f64) -> f64 {
    if !above(mean, 0.0) {
        return 1.0;
    }
    if !above(dispersion, 1e-9) {
        return poisson_cdf(k, mean);
    }
    let r = 1.0 / dispersion;
    let p = r / (r + mean);
    beta_i(r, k as f64 + 1.0, p)
}

/// `P(X >= k)` for `X ~ Binomial(n, p)`.
pub fn binom_sf(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    if !above(p, 0.0) {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    beta_i(k as f64, (n - k) as f64 + 1.0, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        let mut f = 1.0f64;
        for n in 1..30u32 {
            assert!(close(ln_gamma(n as f64 + 1.0), f.ln().max(0.0), 1e-10) || n == 1);
            f *= (n + 1) as f64;
        }
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-12
        ));
    }

    #[test]
    fn poisson_tails_match_direct_sums() {
        for &mean in &[0.3f64, 2.0, 10.0, 55.5] {
            let mut pmf = (-mean).exp();
            let mut cdf = 0.0;
            for k in 0..80u64 {
                cdf += pmf;
                assert!(close(poisson_cdf(k, mean), cdf, 1e-9), "cdf k={k} m={mean}");
                // P(X >= k+1) = 1 - P(X <= k), compare where the subtraction is exact enough.
                if cdf < 0.999 {
                    assert!(close(poisson_sf(k + 1, mean), 1.0 - cdf, 1e-8));
                }
                pmf *= mean / (k + 1) as f64;
            }
        }
        // Deep tail: P(X >= 60 | 10) is about 1.1e-22; the sum is dominated by its first term.
        let first = (-10.0f64 + 60.0 * 10.0f64.ln() - ln_gamma(61.0)).exp();
        let p = poisson_sf(60, 10.0);
        assert!(p > first && p < first * 1.25, "{p} vs {first}");
    }

    #[test]
    fn negative_binomial_is_wider_than_poisson_and_sums_to_one() {
        let (m, a) = (20.0, 0.2);
        assert!(nbinom_sf(40, m, a) > poisson_sf(40, m) * 100.0);
        assert!(nbinom_cdf(5, m, a) > poisson_cdf(5, m));
        for k in 1..100u64 {
            let s = nbinom_cdf(k - 1, m, a) + nbinom_sf(k, m, a);
            assert!(close(s, 1.0, 1e-9), "k={k}: {s}");
        }
        // r = 1 is geometric: P(X = 0) = 1 / (1 + mean).
        assert!(close(nbinom_cdf(0, 4.0, 1.0), 0.2, 1e-12));
    }

    #[test]
    fn binomial_tail_matches_direct_sum() {
        let (n, p) = (30u64, 0.1f64);
        let mut direct = 0.0;
        for k in (0..=n).rev() {
            let ln_c = ln_gamma(n as f64 + 1.0)
                - ln_gamma(k as f64 + 1.0)
                - ln_gamma((n - k) as f64 + 1.0);
            direct += (ln_c + k as f64 * p.ln() + (n - k) as f64 * (1.0 - p).ln()).exp();
            assert!(close(binom_sf(k, n, p), direct, 1e-9), "k={k}");
        }
        assert_eq!(binom_sf(31, 30, 0.5), 0.0);
    }

    #[test]
    fn bad_inputs_give_probabilities() {
        for v in [
            poisson_sf(3, f64::NAN),
            poisson_cdf(3, -1.0),
            nbinom_sf(5, f64::INFINITY, 0.1),
            nbinom_cdf(5, 3.0, f64::NAN),
            binom_sf(2, 5, f64::NAN),
            beta_i(-1.0, 2.0, 0.5),
        ] {
            assert!((0.0..=1.0).contains(&v), "{v}");
        }
    }
}
