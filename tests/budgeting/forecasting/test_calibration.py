"""Interval calibration, the combination's members and the seasonality test on short histories."""

import numpy as np
import pytest
from scipy.stats import norm

from budgeting.forecasting.backtest import run_backtest
from budgeting.forecasting.calibration import (
    finite_sample_stretch,
    interval_multipliers,
    normal_ratio,
)
from budgeting.forecasting.candidates import (
    COMBINATION_WEIGHTS,
    COMBINED,
    SES,
    candidates_for,
    recent_years,
)
from budgeting.forecasting.models import ses_fit
from budgeting.forecasting.preprocess import has_seasonality

YEARLY_PATTERN = np.array([0.8, 0.85, 1.0, 1.05, 1.1, 1.2, 1.25, 1.15, 1.0, 0.95, 0.85, 0.8])


def test_multipliers_of_many_normal_errors_are_the_normal_quantiles():
    errors = np.abs(np.random.default_rng(7).standard_normal(20_000))
    found = interval_multipliers(errors, (80, 95))
    assert found[80] == pytest.approx(norm.ppf(0.9), rel=0.02)
    assert found[95] == pytest.approx(norm.ppf(0.975), rel=0.02)


def test_a_thin_tail_still_gives_the_wider_level_a_normal_stretch():
    # Every backtest error the same size: the ranks alone would make 95% as narrow as 80%.
    found = interval_multipliers(np.ones(30), (80, 95))
    assert found[95] == pytest.approx(found[80] * normal_ratio(80, 95))
    assert normal_ratio(80, 95) == pytest.approx(1.5293, abs=1e-3)


def test_one_outlying_error_widens_the_intervals_through_the_rms():
    errors = np.full(30, 1.0)
    wild = errors.copy()
    wild[0] = 10.0
    steady, outlying = interval_multipliers(errors, (80,)), interval_multipliers(wild, (80,))
    # The 80% rank is the same error in both; the root mean square is not.
    assert outlying[80] > steady[80] * 1.3


def test_ses_carries_the_level_flat():
    values = np.array([10.0, 12.0, 11.0, 13.0, 12.0, 12.5, 12.2])
    fit = ses_fit(values, 5)
    assert np.all(fit.point == fit.point[0])
    assert values.min() <= fit.point[0] <= values.max()
    assert np.all(np.diff(fit.growth) >= 0)


def test_ses_is_in_the_combination_but_never_offered_alone():
    history = 1000 + 10 * np.arange(36) * YEARLY_PATTERN[np.arange(36) % 12]
    found = candidates_for(history, 12, 12, intermittent=False)
    assert COMBINATION_WEIGHTS[SES] > 0
    assert not any(name.startswith(SES) for name in found)
    assert "combination" in found


def test_two_years_of_a_clear_yearly_pattern_are_seasonal():
    rng = np.random.default_rng(3)
    months = np.arange(24)
    values = (500 + 2 * months) * YEARLY_PATTERN[months % 12] * (1 + 0.02 * rng.standard_normal(24))
    assert has_seasonality(values, 12)


def test_two_years_of_noise_are_not_seasonal():
    values = 500 + 20 * np.random.default_rng(5).standard_normal(24)
    assert not has_seasonality(values, 12)


def test_the_finite_sample_stretch_restores_coverage_when_the_spread_is_estimated():
    # A spread estimated from twelve draws is often too small; the normal quantile times that
    # estimate covers a new draw less often than promised, the stretched one as promised.
    rng = np.random.default_rng(11)
    past = rng.standard_normal((40_000, 12))
    new = np.abs(rng.standard_normal(40_000))
    spread = np.sqrt(np.mean(past**2, axis=1))
    for level in (80, 95):
        plain = spread * norm.ppf(0.5 + level / 200)
        stretched = plain * finite_sample_stretch(level, 12)
        assert 100 * np.mean(new <= plain) < level - 1
        assert 100 * np.mean(new <= stretched) == pytest.approx(level, abs=0.7)
    assert finite_sample_stretch(95, 12) > finite_sample_stretch(80, 12) > 1
    assert finite_sample_stretch(80, 10_000) == pytest.approx(1, abs=1e-3)


def test_independent_draws_stretch_every_multiplier():
    errors = np.abs(np.random.default_rng(5).standard_normal(24))
    plain = interval_multipliers(errors, (80, 95))
    few = interval_multipliers(errors, (80, 95), independent=12)
    for level in (80, 95):
        assert few[level] == pytest.approx(plain[level] * finite_sample_stretch(level, 12))


def test_origins_short_of_two_seasons_calibrate_on_the_final_seasonal_model():
    # Two years of a clear yearly pattern: the final forecast adjusts for it and leans on last
    # year, but every backtest origin has less than two years of its own and cannot.
    rng = np.random.default_rng(2)
    months = np.arange(24)
    history = 1000 * YEARLY_PATTERN[months % 12] * (1 + 0.01 * rng.standard_normal(24))
    found = run_backtest(history, history, 12, 12, intermittent=False)
    assert found.borrowed == found.origins == 3
    assert found.calibration_months() == 12
    # Twelve months, less the 11/24 of each that the borrowed indices were fitted with.
    assert found.calibration_draws() == pytest.approx(6.5)
    # The seasonal model the intervals are calibrated on misses far less than the plain
    # combination each origin would fit alone.
    own = found.scaled_errors(COMBINED) * np.concatenate(
        [r.spread for r in found.results[COMBINED]]
    )
    mirrored = found.calibration_errors() * np.concatenate([r.spread for r in found.calibration])
    assert np.mean(mirrored) < 0.5 * np.mean(own)


def test_long_histories_calibrate_on_their_own_backtest():
    months = np.arange(60)
    history = (500 + 3 * months) * YEARLY_PATTERN[months % 12]
    found = run_backtest(history, history, 12, 12, intermittent=False)
    assert found.borrowed == 0
    assert found.calibration_draws() is None
    assert np.array_equal(found.calibration_errors(), found.scaled_errors(COMBINED))


def test_recent_years_are_last_years_months_at_the_latest_level_with_less_noise():
    rng = np.random.default_rng(4)
    months = np.arange(60)
    level = 1000 * 1.1 ** (months // 12)  # each year 10% above the one before
    truth = level * YEARLY_PATTERN[months % 12]
    history = truth * (1 + 0.05 * rng.standard_normal(60))
    found = recent_years(history, 12, 12)
    latest_year = truth[-12:]
    # Three years scaled to the latest one's level: the same shape at that level, and half
    # the miss of last year's months alone, whose noise it carries in full.
    assert found.point.mean() == pytest.approx(history[-12:].mean())
    assert np.mean(np.abs(found.point - latest_year)) < 0.75 * np.mean(
        np.abs(history[-12:] - latest_year)
    )
    assert recent_years(history[:24], 12, 12).point == pytest.approx(
        (history[:12] * history[12:24].mean() / history[:12].mean() + history[12:24]) / 2
    )


def test_recent_years_shift_by_difference_when_a_series_changes_sign():
    history = np.concatenate([np.arange(-6.0, 6.0), np.arange(-6.0, 6.0) + 10])
    found = recent_years(history, 12, 12)
    assert found.point == pytest.approx(np.arange(-6.0, 6.0) + 10)
