"""The model catalog (a data file) and the exact cost engine."""
