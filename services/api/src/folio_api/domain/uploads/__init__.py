"""``/v1/uploads``: presigned uploads straight to storage."""
