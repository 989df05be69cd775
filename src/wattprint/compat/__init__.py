"""Drop-in modules for scripts written for other tools: ``from wattprint.compat import eco2ai``."""
