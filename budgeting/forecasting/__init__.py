"""Monthly forecasting engine: pure functions, numbers in and numbers out."""

from budgeting.forecasting.engine import MAX_HORIZON, Forecast, forecast_series

__all__ = ["MAX_HORIZON", "Forecast", "forecast_series"]
