"""meetbot: facilitate multilingual discussion meetings on Matrix and record them for research."""

__version__ = "0.1.0"
