"""What the forecasting engine promises: sane bounds, honest intervals, robust to odd series."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.tsa.forecasting.theta import ThetaModel
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from budgeting.forecasting import MAX_HORIZON, forecast_series
from budgeting.forecasting.backtest import history_scale
from budgeting.forecasting.engine import MIN_REALISED, RealisedAccuracy
from budgeting.forecasting.models import damped_fit, damped_grid, theta_fit
from budgeting.forecasting.preprocess import local_median

MONTHS = np.arange(60)
YEARLY_PATTERN = np.array([0.8, 0.85, 1.0, 1.05, 1.1, 1.2, 1.25, 1.15, 1.0, 0.95, 0.85, 0.8])


def seasonal_series(rng: np.random.Generator, months: int = 60, noise: float = 0.03) -> np.ndarray:
    trend = 1000 + 4 * np.arange(months)
    pattern = YEARLY_PATTERN[np.arange(months) % 12]
    return trend * pattern * (1 + noise * rng.standard_normal(months))


def assert_nested(forecast) -> None:
    point = np.asarray(forecast.point)
    lo80, hi80 = (np.asarray(b) for b in forecast.intervals[80])
    lo95, hi95 = (np.asarray(b) for b in forecast.intervals[95])
    assert np.all(lo95 <= lo80)
    assert np.all(lo80 <= point)
    assert np.all(point <= hi80)
    assert np.all(hi80 <= hi95)


@pytest.mark.parametrize("horizon", [0, -1, MAX_HORIZON + 1])
def test_horizon_outside_1_to_24_is_refused(horizon):
    with pytest.raises(ValueError, match="horizon"):
        forecast_series([1.0, 2.0, 3.0], horizon=horizon)


@pytest.mark.parametrize("horizon", [1, 6, MAX_HORIZON])
def test_forecast_has_one_value_per_month_of_the_horizon(horizon):
    forecast = forecast_series(seasonal_series(np.random.default_rng(1)), horizon=horizon)
    assert len(forecast.point) == horizon
    for lower, upper in forecast.intervals.values():
        assert len(lower) == len(upper) == horizon


@pytest.mark.parametrize("values", [[], [1.0, float("nan")], [float("inf")]])
def test_empty_or_non_finite_history_is_refused(values):
    with pytest.raises(ValueError):
        forecast_series(values)


def test_levels_must_be_percentages():
    with pytest.raises(ValueError, match="levels"):
        forecast_series([1.0, 2.0, 3.0], levels=(80, 100))


@pytest.mark.parametrize(
    "values",
    [
        seasonal_series(np.random.default_rng(2)),
        np.cumsum(np.random.default_rng(3).standard_normal(40)) * 50,
        [0, 0, 120, 0, 0, 0, 80, 0, 0, 95, 0, 0, 0, 110, 0, 0],
        [500.0, -200.0, 300.0, -100.0, 250.0, -50.0, 400.0, -300.0, 100.0, 50.0],
        [42.0],
        [10.0, 10.0, 10.0, 10.0],
    ],
    ids=["seasonal", "random walk", "intermittent", "sign changes", "one month", "flat"],
)
def test_intervals_are_nested_around_the_point(values):
    assert_nested(forecast_series(values, horizon=12))


def test_short_history_gets_no_seasonal_model_and_says_so():
    history = seasonal_series(np.random.default_rng(4), months=18)
    forecast = forecast_series(history, horizon=6)
    assert "short history" in forecast.notes
    assert "seasonal" not in forecast.method
    assert_nested(forecast)


def test_history_too_short_to_backtest_still_forecasts_with_wide_intervals():
    forecast = forecast_series([100.0, 104.0, 98.0], horizon=3)
    assert len(forecast.point) == 3
    assert forecast.backtest_mase is None
    assert forecast == forecast_series([100.0, 104.0, 98.0], horizon=3)
    assert any("too short to backtest" in note for note in forecast.notes)
    lower, upper = forecast.intervals[80]
    assert all(hi > lo for lo, hi in zip(lower, upper, strict=True))


def test_fixed_fee_that_moves_once_keeps_intervals_in_proportion():
    forecast = forecast_series([500.0] * 11 + [510.0], horizon=3)
    assert all(490 <= point <= 520 for point in forecast.point)
    assert max(forecast.upper(95)) < 600
    assert min(forecast.lower(95)) > 400


def test_intermittent_spend_forecasts_the_average_rate_not_the_last_purchase():
    rng = np.random.default_rng(5)
    history = np.where(rng.random(48) < 0.25, rng.uniform(800, 1200, 48), 0.0)
    history[-1] = 1500.0  # a purchase last month must not be projected every month
    forecast = forecast_series(history, horizon=6)
    assert "intermittent" in forecast.notes
    assert forecast.method == "croston_sba"
    rate = history.mean()
    assert all(0.5 * rate <= point <= 2 * rate for point in forecast.point)
    assert min(forecast.intervals[95][0]) >= 0


def test_series_that_changes_sign_is_forecast_additively():
    rng = np.random.default_rng(6)
    # A monthly result that swings between profit and loss with the season.
    history = 200 * np.sin(2 * np.pi * MONTHS / 12) + 20 + 15 * rng.standard_normal(60)
    forecast = forecast_series(history, horizon=12)
    assert "changes sign" in forecast.notes
    assert np.all(np.isfinite(forecast.point))
    assert min(forecast.point) < 0 < max(forecast.point)
    assert min(forecast.intervals[95][0]) < 0  # no flooring at zero for such series
    assert_nested(forecast)


def test_one_off_spike_is_flagged_and_does_not_drive_the_forecast():
    rng = np.random.default_rng(7)
    history = 1000 + 2 * np.arange(48) + 10 * rng.standard_normal(48)
    with_spike = history.copy()
    with_spike[40] = 9000.0  # a one-off invoice, eight times a normal month
    plain = forecast_series(history, horizon=6)
    spiked = forecast_series(with_spike, horizon=6)
    assert spiked.spikes == (40,)
    assert plain.spikes == ()
    shift = np.abs(np.asarray(spiked.point) - np.asarray(plain.point))
    assert np.all(shift < 0.02 * np.asarray(plain.point))


def test_recurring_seasonal_peak_is_not_a_spike():
    history = np.full(48, 100.0) + np.random.default_rng(8).normal(0, 2, 48)
    history[11::12] = 400.0  # every December
    assert forecast_series(history, horizon=12).spikes == ()


def test_same_input_gives_the_same_forecast():
    history = seasonal_series(np.random.default_rng(9))
    assert forecast_series(history, horizon=12) == forecast_series(history, horizon=12)


def test_seasonal_pattern_is_recovered():
    history = seasonal_series(np.random.default_rng(10), months=48)
    forecast = forecast_series(history, horizon=12)
    expected = YEARLY_PATTERN[np.arange(48, 60) % 12]
    assert np.corrcoef(forecast.point, expected)[0, 1] > 0.95
    assert forecast.confidence_label == "high"


def test_confidence_is_lower_for_a_noisier_series():
    rng = np.random.default_rng(11)
    calm = forecast_series(seasonal_series(rng, noise=0.02), horizon=6)
    noisy = forecast_series(seasonal_series(rng, noise=0.3), horizon=6)
    assert 0 <= noisy.confidence < calm.confidence <= 100
    assert noisy.backtest_mase > 0


def test_intervals_cover_about_their_nominal_share_of_future_months():
    rng = np.random.default_rng(12)
    inside = {80: [], 95: []}
    for _ in range(150):
        months = 42
        level = 500 + np.cumsum(rng.normal(1, 8, months))
        pattern = 1 + rng.uniform(0, 0.2) * np.sin(2 * np.pi * np.arange(months) / 12)
        series = level * pattern + rng.normal(0, 10, months)
        history, future = series[:36], series[36:]
        forecast = forecast_series(history, horizon=6)
        for level_pct in inside:
            lower, upper = forecast.intervals[level_pct]
            inside[level_pct].extend((future >= lower) & (future <= upper))
    assert 0.72 <= np.mean(inside[80]) <= 0.88
    assert 0.89 <= np.mean(inside[95]) <= 0.99


def test_theta_and_damped_trend_match_their_statsmodels_counterparts():
    # The engine fits statsmodels' models with its own fast grid search; the forecasts must
    # stay those models' forecasts.
    rng = np.random.default_rng(13)
    history = 200 + np.cumsum(rng.normal(0.5, 3, 60)) + rng.normal(0, 4, 60)
    theta = np.asarray(ThetaModel(history, deseasonalize=False).fit().forecast(6))
    damped = ExponentialSmoothing(
        history, trend="add", damped_trend=True, initialization_method="estimated"
    ).fit()
    assert np.allclose(theta_fit(history, 6).point, theta, rtol=1e-3)
    assert np.allclose(damped_fit(history, 6).point, np.asarray(damped.forecast(6)), rtol=0.02)


# --- Realised accuracy feeds the method choice ------------------------------------------------


def trending_walk() -> np.ndarray:
    # Theta backtests best here (MASE about 0.9), the damped trend next (about 1.2), the
    # combination last (about 1.6): the usual choice is Theta.
    return 500 + np.cumsum(np.random.default_rng(21).normal(2, 10, 36))


def realised_misses(series: np.ndarray, times_scale: float, count: int):
    """`count` scored forecasts one to three months ahead that each missed by `times_scale`
    of the series' typical month-to-month change."""
    scale = history_scale(series)
    return RealisedAccuracy.of(((i % 3) + 1, times_scale * scale) for i in range(count))


def test_realised_misses_move_the_choice_away_from_the_usual_method():
    series = trending_walk()
    usual = forecast_series(series, horizon=6)
    assert usual.method == "theta"

    missed = forecast_series(
        series, horizon=6, realised={"theta": realised_misses(series, 3.0, count=6)}
    )

    assert missed.method == "damped_trend"
    assert "method chosen with the realised accuracy of 6 past forecast(s)" in missed.notes
    assert_nested(missed)


def test_realised_hits_let_a_method_gain_ground():
    series = trending_walk()

    hit = forecast_series(
        series, horizon=6, realised={"damped_trend": realised_misses(series, 0.05, count=8)}
    )

    assert hit.method == "damped_trend"


def test_realised_misses_of_the_combination_let_a_rival_take_over():
    # Without realised data a rival must beat the combination by the selection margin.
    flat = np.full(36, 1000.0) + np.random.default_rng(22).normal(0, 20, 36)
    usual = forecast_series(flat, horizon=6)
    assert usual.method == "combination"

    missed = forecast_series(
        flat, horizon=6, realised={"combination": realised_misses(flat, 5.0, count=12)}
    )

    assert missed.method != "combination"


def test_without_realised_data_the_forecast_is_exactly_as_before():
    series = trending_walk()
    plain = forecast_series(series, horizon=6)

    assert forecast_series(series, horizon=6, realised=None) == plain
    assert forecast_series(series, horizon=6, realised={}) == plain
    # A method this series has no candidate for says nothing about the candidates it has.
    other = {"croston_sba": realised_misses(series, 3.0, count=12)}
    assert forecast_series(series, horizon=6, realised=other) == plain


def test_fewer_than_the_minimum_scored_forecasts_are_ignored():
    series = trending_walk()
    plain = forecast_series(series, horizon=6)
    few = realised_misses(series, 50.0, count=MIN_REALISED - 1)

    assert forecast_series(series, horizon=6, realised={"theta": few}) == plain


def test_realised_errors_are_judged_against_the_backtest_at_the_same_steps():
    series = trending_walk()
    scale = history_scale(series)
    # The same misses count for less when made far ahead, where the backtest missed more too.
    near = RealisedAccuracy.of((1, 2.2 * scale) for _ in range(6))
    far = RealisedAccuracy.of((6, 2.2 * scale) for _ in range(6))
    assert forecast_series(series, horizon=6, realised={"theta": near}).method != "theta"
    assert forecast_series(series, horizon=6, realised={"theta": far}).method == "theta"


@pytest.mark.parametrize(
    "steps, errors",
    [((1, 2), (1.0,)), ((0,), (1.0,)), ((1,), (-1.0,)), ((1,), (float("nan"),))],
    ids=["lengths differ", "step zero", "negative error", "not finite"],
)
def test_realised_accuracy_refuses_nonsense(steps, errors):
    with pytest.raises(ValueError):
        RealisedAccuracy(steps, errors)


def test_spend_that_starts_late_gets_sane_intervals():
    # Two years of nothing, then lumpy project work: the backtest origins inside the zero
    # years have nothing to learn from and must not blow the intervals up.
    history = [0.0] * 24 + [
        0.0,
        0.0,
        0.0,
        25329.1,
        72932.23,
        111738.67,
        0.0,
        282932.23,
        137067.77,
        0.0,
        0.0,
        210000.0,
    ]
    forecast = forecast_series(history, horizon=6)
    for level in (80, 95):
        assert all(np.isfinite(forecast.upper(level)))
        assert max(forecast.upper(level)) < 5 * max(history)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), min_size=0, max_size=40
    ),
    half_window=st.integers(min_value=0, max_value=4),
)
def test_the_local_median_is_the_median_of_each_month_and_its_neighbours(values, half_window):
    series = np.asarray(values, dtype=float)
    n = len(series)
    expected = [
        np.median(series[max(0, i - half_window) : min(n, i + half_window + 1)]) for i in range(n)
    ]
    assert local_median(series, half_window).tolist() == expected


def test_the_weight_grid_cannot_be_changed_by_a_caller():
    alpha, _beta, _phi = damped_grid()
    with pytest.raises(ValueError, match="read-only"):
        alpha[0] = 0.5
