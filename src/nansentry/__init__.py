"""nansentry: catch, localise, explain and recover from NaN/Inf in training."""

__version__ = "0.1.0"
