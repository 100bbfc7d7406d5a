"""The local storage backend's signed upload and download routes."""
