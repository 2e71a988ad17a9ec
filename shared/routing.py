"""URL converters every service's routes share: years and quarters are checked by the route itself.

`/reports/<string:bureau>/<year:year>/<quarter:quarter>` matches only a year from 1912 (ROC year 1)
to 9999 and a quarter 1-4; anything else is a 404 before a view runs, so no view builds a quarter
from a URL by hand. `<int:...>` segments stop at 32-bit ids: larger numbers are 404, not a database
overflow.
"""

from __future__ import annotations

from werkzeug.routing import BaseConverter, IntegerConverter, ValidationError

from shared.periods import ROC_FIRST_YEAR


class YearConverter(BaseConverter):
    regex = r"\d{4}"

    def to_python(self, value: str) -> int:
        year = int(value)
        if year < ROC_FIRST_YEAR:
            raise ValidationError()
        return year

    def to_url(self, value) -> str:
        return str(value)


class QuarterConverter(BaseConverter):
    regex = r"[1-4]"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


class BoundedIntegerConverter(IntegerConverter):
    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


# The converters, and how the OpenAPI documents describe their path parameters.
CONVERTERS = {
    "year": (YearConverter, {"type": "integer", "minimum": ROC_FIRST_YEAR, "maximum": 9999}),
    "quarter": (QuarterConverter, {"type": "integer", "minimum": 1, "maximum": 4}),
    "int": (BoundedIntegerConverter, {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}),
}
