"""veille: the information watch and newsletter pipeline of Occitanie Coopération."""

__version__ = "0.1.0"
