# Amazigh (Tifinagh), which Django does not know: month names come from its catalogue
# (locale_django/zgh), the order is the French one.
from wasl.formats import DATE_INPUT_FORMATS, DATETIME_INPUT_FORMATS, FIRST_DAY_OF_WEEK  # noqa: F401 (read by Django)

DATE_FORMAT = "j F Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j F Y H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
DECIMAL_SEPARATOR = ","
