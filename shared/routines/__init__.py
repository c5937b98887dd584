"""Routines and their triggers: definitions, variables, title templates."""
