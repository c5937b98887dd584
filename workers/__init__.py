"""Dramatiq actors: each decodes ids and makes one call into shared/."""
