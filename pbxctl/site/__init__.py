"""The site model: the only schema of a site file."""

from .model import Site

__all__ = ["Site"]
