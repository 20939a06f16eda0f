"""VeliKey SDK core: async and sync clients for the Axis + Aegis API."""

__version__ = "0.1.0"
