"""``/v1/documents``: upload (streamed multipart), list, read, download, delete, process."""
