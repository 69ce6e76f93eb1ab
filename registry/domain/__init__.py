"""The registry's rules, free of Flask, click and SQL: the document format, conditions, lifecycle, the
compiled policy and the decision, reason codes and their messages."""
