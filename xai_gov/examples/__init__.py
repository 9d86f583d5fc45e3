"""Example models on the shipped data."""
