"""Small modules and data loaders that rigorlab's example studies import (nothing is downloaded)."""
