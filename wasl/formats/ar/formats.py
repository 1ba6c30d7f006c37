# Django's Arabic formats (django/conf/locale/ar/formats.py) keep what they define; these fill in
# what they leave to the American defaults. U+200F RIGHT-TO-LEFT MARK after each slash, as
# Django's SHORT_DATE_FORMAT has it, keeps day, month and year in their order in Arabic text.
from wasl.formats import DATE_INPUT_FORMATS, DATETIME_INPUT_FORMATS, FIRST_DAY_OF_WEEK  # noqa: F401 (read by Django)

TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j F Y، H:i"
SHORT_DATETIME_FORMAT = "d\u200f/m\u200f/Y H:i"
