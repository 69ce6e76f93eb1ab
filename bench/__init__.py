"""``make bench``: measured figures, not timed tests."""
