"""The demo's SQLite, with money exact: a decimal column holds a whole number of its smallest
unit (cents for money), never a float.

SQLite has no decimal type: Django's backend writes "12345678901234.56" into a NUMERIC column,
which SQLite turns into a REAL, keeping 15 significant digits (12345678901234.60 comes back, and
99999999999999.99 cannot be read back into 16 digits at all). An integer of cents is exact up to
2**63, sums and sorts as the number it is, and comes back exact. PostgreSQL (production and the
suite) has a real numeric type and needs none of this. ENGINE "core.sqlite" (config/settings.py).
"""

import decimal

from django.db.backends.sqlite3 import base, operations


def _scaled(value, decimal_places: int) -> int:
    # Rounded as the field would store it, then shifted: 12.34 with 2 places is 1234.
    whole = decimal.Decimal(value).scaleb(decimal_places)
    return int(whole.to_integral_value(rounding=decimal.ROUND_HALF_UP))


_WIDE = decimal.Context(prec=40)


class DatabaseOperations(operations.DatabaseOperations):
    def adapt_decimalfield_value(self, value, max_digits=None, decimal_places=None):
        if value is None or decimal_places is None or hasattr(value, "as_sql"):
            return super().adapt_decimalfield_value(value, max_digits, decimal_places)
        return _scaled(value, decimal_places)

    def get_decimalfield_converter(self, expression):
        decimal_places = getattr(expression.output_field, "decimal_places", None)
        if decimal_places is None:
            return super().get_decimalfield_converter(expression)
        unit = decimal.Decimal(1).scaleb(-decimal_places)
        # A float only from an average or a division: not a stored figure, read as Django does.
        from_float = decimal.Context(prec=15).create_decimal_from_float

        def converter(value, expression, connection):
            if value is None:
                return None
            if isinstance(value, int):
                return decimal.Decimal(value).scaleb(-decimal_places)
            return from_float(value).scaleb(-decimal_places).quantize(unit, context=_WIDE)

        return converter


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
