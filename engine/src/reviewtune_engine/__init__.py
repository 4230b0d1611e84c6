"""reviewtune's tensor engine: a long-lived process speaking JSON lines on stdio (see server.py)."""

__version__ = "0.1.0"
