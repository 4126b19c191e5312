"""golive's sample backend (see app.py)."""

from golive_sample_app._build import VERSION as __version__

__all__ = ["__version__"]
