"""Date and time formats where Django has none (FORMAT_MODULE_PATH): Django's Arabic leaves the
date with time to its American default ("ديسمبر 7, 2026" and "12/07/2026" for 7 December) and it
has no Amazigh at all. Day before month, 24-hour time, as the rest of Wasl and Morocco write them;
a typed date is read day first too."""

# What every language of these formats shares: the week starts on Monday, a date is typed day first.
FIRST_DAY_OF_WEEK = 1
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"]
DATETIME_INPUT_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%d"]
