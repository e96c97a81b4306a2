"""retailconnect: an open-source retail integration hub."""

__version__ = "0.1.0"

__all__ = ["__version__"]
