"""ISO 8601 dates and times with an explicit UTC designator, for staff pages."""

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = r"Y-m-d H:i:s\Z"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = r"Y-m-d H:i\Z"
TIME_FORMAT = "H:i:s"
