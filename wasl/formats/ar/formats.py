# Django's Arabic formats (django/conf/locale/ar/formats.py) keep what they define; these fill in
# what they leave to the American defaults. U+200F RIGHT-TO-LEFT MARK after each slash, as
# Django's SHORT_DATE_FORMAT has it, keeps day, month and year in their order in Arabic text.
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j F Y، H:i"
SHORT_DATETIME_FORMAT = "d\u200f/m\u200f/Y H:i"
FIRST_DAY_OF_WEEK = 1  # Monday
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"]
DATETIME_INPUT_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%d"]
