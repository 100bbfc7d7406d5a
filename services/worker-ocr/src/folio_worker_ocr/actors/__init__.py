"""Actors of worker-ocr. Each module declares its actors with explicit dotted names."""
