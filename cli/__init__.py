"""The ``authreg`` command line: click wiring only; every answer comes from ``registry``."""
