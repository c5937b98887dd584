"""Domain core shared by web, workers and scheduler; imports none of them."""
