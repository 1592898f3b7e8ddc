"""Intervals and tests of gradjax.evaluation.stats against brute force and scipy."""

import numpy as np

from gradjax.evaluation.stats import (
    bootstrap_interval,
    excludes_zero,
    log_mean_exp,
    mcnemar_p,
    paired_difference,
    seed_interval,
    verdict,
    wilson_interval,
)


def test_wilson_interval_and_mcnemar_match_brute_force():
    # Wilson: the interval's ends are where the score test z = ±1.96 (solve by bisection-free
    # check): (p̂ − p)² n = z² p(1 − p) at both ends.
    k, n = 37, 120
    low, high = wilson_interval(k, n)
    for p in (low, high):
        np.testing.assert_allclose(
            (k / n - p) ** 2 * n, 1.959963984540054**2 * p * (1 - p), rtol=1e-9
        )
    # McNemar: the two-sided exact binomial test on the discordant pairs, by enumeration.
    a = np.array([1, 1, 1, 1, 1, 0, 0, 1, 0, 1], bool)
    b = np.array([0, 0, 0, 0, 1, 1, 0, 1, 0, 1], bool)
    discordant, k_small = 5, 1  # 4 only-a, 1 only-b
    from math import comb

    expected = 2 * sum(comb(discordant, i) for i in range(k_small + 1)) / 2**discordant
    np.testing.assert_allclose(mcnemar_p(a, b), expected)


def test_paired_difference_interval_and_verdict():
    rng = np.random.default_rng(0)
    base = rng.normal(size=400)
    shifted = base + 0.5  # the same examples, every one 0.5 higher: no sampling noise at all
    d = paired_difference(shifted, base)
    np.testing.assert_allclose([d["value"], d["low"], d["high"]], 0.5, rtol=1e-9)
    assert verdict(d["low"], d["high"]) == "higher"
    noise = paired_difference(base, rng.permutation(base))  # a reordering: no true difference
    assert noise["low"] < 0 < noise["high"]
    assert verdict(noise["low"], noise["high"]) == "no difference detected"


def test_accuracy_difference_is_the_paired_bootstrap_with_scipys_exact_mcnemar():
    from scipy.stats import binomtest

    from gradjax.evaluation.stats import accuracy_difference

    rng = np.random.default_rng(1)
    b = rng.random(300) < 0.7
    a = b ^ (rng.random(300) < 0.15)  # about 15% of the answers flipped
    d = accuracy_difference(a, b, seed=3)
    np.testing.assert_allclose(d["value"], a.mean() - b.mean())
    assert d["low"] <= d["value"] <= d["high"] and d["n"] == 300
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    np.testing.assert_allclose(
        d["mcnemar_p"], binomtest(only_a, only_a + only_b, 0.5).pvalue, rtol=1e-9
    )
    # The interval is the paired bootstrap's at the same seed.
    p = paired_difference(a, b, seed=3)
    np.testing.assert_allclose([d["low"], d["high"]], [p["low"], p["high"]], rtol=0)


def test_excludes_zero_counts_an_endpoint_at_zero_as_covering_it():
    assert excludes_zero(0.1, 0.3) and excludes_zero(-0.3, -0.1)
    assert not excludes_zero(-0.1, 0.3)
    assert not excludes_zero(0.0, 0.3) and not excludes_zero(-0.3, 0.0)
    assert verdict(0.0, 0.3) == "no difference detected"
    assert verdict(-0.3, -0.1, lower="worse") == "worse"


def test_paired_difference_over_several_statistics_matches_one_at_a_time():
    # (S, N) values: each row's interval must equal the interval of that row alone.
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 300)) + np.array([[0.0], [1.0], [-2.0]])
    b = rng.normal(size=(3, 300))
    joint = paired_difference(a, b, seed=4)
    for s in range(3):
        alone = paired_difference(a[s], b[s], seed=4)
        for k in ("value", "low", "high"):
            np.testing.assert_allclose(joint[k][s], alone[k], rtol=1e-12)
        assert alone["low"] < alone["value"] < alone["high"]


def test_log_mean_exp_is_the_log_of_the_mean_ratio_without_overflow():
    rng = np.random.default_rng(0)
    values = rng.normal(0, 2, (3, 50))
    np.testing.assert_allclose(log_mean_exp(values), np.log(np.exp(values).mean(-1)), rtol=1e-12)
    big = np.array([1000.0, 1000.0 + np.log(3.0)])  # exp overflows; the answer is 1000 + log 2
    np.testing.assert_allclose(log_mean_exp(big), 1000.0 + np.log(2.0), rtol=1e-12)


def test_bootstrap_interval_matches_a_loop_over_resamples():
    rng = np.random.default_rng(1)
    values = rng.normal(size=40)
    got = bootstrap_interval(values, statistic=log_mean_exp, num_resamples=300, seed=5)
    index = np.random.default_rng(5).integers(0, 40, (300, 40))
    draws = [np.log(np.mean(np.exp(values[i]))) for i in index]
    np.testing.assert_allclose([got["low"], got["high"]], np.percentile(draws, [2.5, 97.5]))
    np.testing.assert_allclose(got["value"], np.log(np.mean(np.exp(values))))


def test_seed_interval_is_students_t_over_the_seeds():
    from scipy import stats as scipy_stats

    values = [0.3, -0.1, 0.5, 0.2, 0.4]
    got = seed_interval(values)
    low, high = scipy_stats.t.interval(0.95, 4, loc=np.mean(values), scale=scipy_stats.sem(values))
    np.testing.assert_allclose([got["low"], got["high"]], [low, high], rtol=1e-10)
    assert got["n"] == 5 and got["per_seed"] == values
    one = seed_interval([0.3])
    assert one["value"] == 0.3 and np.isinf(one["high"]) and np.isinf(one["low"])
