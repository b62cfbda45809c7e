# A moment as members read it, with a space between day and time: 「2026年12月8日 3:57」
# (Django's Japanese DATETIME_FORMAT runs them together, 「2026年12月8日3:57」). The day alone is
# Django's DATE_FORMAT, 「2026年12月8日」; English keeps Django's ("Dec. 8, 2026, 3:57 a.m.").
DATETIME_FORMAT = "Y年n月j日 G:i"
