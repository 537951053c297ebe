"""Names shared by the commands and the library that reads results, in a module that imports nothing.

(The command modules read these while click builds the options, so ``--help`` stays fast.)"""

TARGETS = ("val", "test")  # the accuracy a correlation is computed against
TABLE_FORMATS = ("table", "markdown", "csv", "json", "latex")  # what every table-printing command can write
