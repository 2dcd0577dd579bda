"""localaws: moto's server extended for cogwire's tests (see README.md)."""
