"""golive: go-live plans as executable, tested automation."""

__version__ = "0.1.0"
