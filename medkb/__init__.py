"""MedKB: keeps a medical knowledge graph current, with provenance and explanations."""

__version__ = "0.1.0"
