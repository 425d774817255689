"""A stand-in for toolbox/: built-in discovery is tested against this package."""
