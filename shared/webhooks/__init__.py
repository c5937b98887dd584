"""The public fire: signatures, replay windows, rate limits."""
