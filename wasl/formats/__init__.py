"""Date and time formats where Django has none (FORMAT_MODULE_PATH): Django's Arabic leaves the
date with time to its American default ("ديسمبر 7, 2026" and "12/07/2026" for 7 December) and it
has no Amazigh at all. Day before month, 24-hour time, as the rest of Wasl and Morocco write them;
a typed date is read day first too."""
